package report

import "math"

// LineChart draws series as lines over shaded bands.
type LineChart struct {
	Title  string
	XLabel string
	// YUnit is written after each y tick ("ms").
	YUnit string
	// LogY draws y on a log scale (values at or below 0 are drawn at the
	// axis' bottom).
	LogY bool
	// YMin and YMax fix the y range; zero means from the data (0 for a
	// linear axis' bottom, a rounded power of ten for a log one).
	YMin, YMax float64
	Bands      []Band
	Series     []Series
}

// Draw draws the chart in area.
func (l LineChart) Draw(c *Canvas, area Rect) {
	f := frame{title: l.Title, xLabel: l.XLabel, yUnit: l.YUnit, bands: l.Bands, logY: l.LogY}
	pal := Palette()
	colors := make([]string, len(l.Series))
	x0, x1 := math.Inf(1), math.Inf(-1)
	ylo, yhi := math.Inf(1), math.Inf(-1)
	for i, s := range l.Series {
		colors[i] = s.Color
		if colors[i] == "" {
			colors[i] = pal[i%len(pal)]
		}
		f.legend = append(f.legend, legendEntry{s.Name, colors[i], s.Dashed})
		for _, p := range s.Points {
			x0, x1 = min(x0, p.X), max(x1, p.X)
			if !math.IsNaN(p.Y) && (!l.LogY || p.Y > 0) {
				ylo, yhi = min(ylo, p.Y), max(yhi, p.Y)
			}
		}
	}
	for _, b := range l.Bands {
		x0, x1 = min(x0, b.From), max(x1, b.To)
	}
	if math.IsInf(x0, 0) {
		x0, x1 = 0, 1
	}
	if math.IsInf(ylo, 0) {
		ylo, yhi = 1, 1
	}
	f.x0, f.x1 = x0, x1
	if l.LogY {
		f.y0 = math.Pow(10, math.Floor(math.Log10(ylo)))
		f.y1 = math.Pow(10, math.Ceil(math.Log10(yhi)))
		if f.y1 <= f.y0 {
			f.y1 = f.y0 * 10
		}
	} else {
		f.y0, f.y1 = 0, niceMax(yhi)
	}
	if l.YMin != 0 {
		f.y0 = l.YMin
	}
	if l.YMax != 0 {
		f.y1 = l.YMax
	}
	f.draw(c, area)
	for i, s := range l.Series {
		var xs, ys []float64
		flush := func() {
			c.Polyline(xs, ys, colors[i], 1.6, s.Dashed)
			xs, ys = xs[:0], ys[:0]
		}
		for _, p := range s.Points {
			if math.IsNaN(p.Y) {
				flush()
				continue
			}
			xs, ys = append(xs, f.px(p.X)), append(ys, f.py(p.Y))
		}
		flush()
	}
	f.finish(c)
}
