package report

import "math"

// Layer is one band of a StackChart: its value in each bucket.
type Layer struct {
	Name   string
	Color  string // default: the palette's next color
	Values []float64
}

// StackChart draws, for each bucket of x, the layers' values stacked as
// bars, over shaded bands: outcomes over time.
type StackChart struct {
	Title  string
	XLabel string
	YUnit  string
	// X are the buckets' starts; each bucket is Step wide.
	X    []float64
	Step float64
	// Shares draws each bucket's layers as shares of the bucket's total
	// (0 to 100 %) instead of as values.
	Shares bool
	Bands  []Band
	Layers []Layer
}

// Draw draws the chart in area.
func (s StackChart) Draw(c *Canvas, area Rect) {
	f := frame{title: s.Title, xLabel: s.XLabel, yUnit: s.YUnit, bands: s.Bands, percent: s.Shares}
	pal := Palette()
	colors := make([]string, len(s.Layers))
	for i, l := range s.Layers {
		colors[i] = l.Color
		if colors[i] == "" {
			colors[i] = pal[i%len(pal)]
		}
		f.legend = append(f.legend, legendEntry{l.Name, colors[i], false})
	}
	totals := make([]float64, len(s.X))
	for _, l := range s.Layers {
		for i := range s.X {
			if i < len(l.Values) && l.Values[i] > 0 {
				totals[i] += l.Values[i]
			}
		}
	}
	x0, x1 := math.Inf(1), math.Inf(-1)
	for _, x := range s.X {
		x0, x1 = min(x0, x), max(x1, x+s.Step)
	}
	for _, b := range s.Bands {
		x0, x1 = min(x0, b.From), max(x1, b.To)
	}
	if math.IsInf(x0, 0) {
		x0, x1 = 0, 1
	}
	f.x0, f.x1 = x0, x1
	f.y0, f.y1 = 0, 1
	if !s.Shares {
		top := 0.0
		for _, t := range totals {
			top = max(top, t)
		}
		f.y1 = niceMax(top)
	}
	f.draw(c, area)
	for i, x := range s.X {
		if totals[i] == 0 {
			continue
		}
		base := 0.0
		for j, l := range s.Layers {
			if i >= len(l.Values) || l.Values[i] <= 0 {
				continue
			}
			v := l.Values[i]
			if s.Shares {
				v /= totals[i]
			}
			ytop, ybot := f.py(base+v), f.py(base)
			xa, xb := f.px(x), f.px(x+s.Step)
			c.Rect(Rect{xa, ytop, xb - xa, ybot - ytop}, colors[j], "")
			base += v
		}
	}
	f.finish(c)
}
