package report

import (
	"math"
	"strconv"
)

// Point is one (x, y) sample of a Series.
type Point struct{ X, Y float64 }

// Series is one line of a LineChart. A point whose Y is NaN breaks the
// line (no data there).
type Series struct {
	Name   string
	Color  string // default: the palette's next color
	Dashed bool
	Points []Point
}

// Band shades the x range [From, To) of a chart, for a phase of a
// scenario, and labels it at the top.
type Band struct {
	From, To float64
	Label    string
	Fill     string // default "#f3f3f3"
}

// Palette is the colors given, in order, to series and layers that name
// none.
func Palette() []string {
	return []string{"#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b7791f", "#c53030", "#4a5568"}
}

// frame is what LineChart and StackChart share: a title, a legend, shaded
// bands, axes and their scales.
type frame struct {
	title, xLabel, yUnit string
	bands                []Band
	legend               []legendEntry
	x0, x1, y0, y1       float64
	logY                 bool
	percent              bool
	plot                 Rect
}

type legendEntry struct {
	name, color string
	dashed      bool
}

func (f *frame) layout(a Rect) {
	f.plot = Rect{X: a.X + 54, Y: a.Y + 40, W: a.W - 54 - 14, H: a.H - 40 - 40}
}

func (f *frame) px(x float64) float64 {
	if f.x1 == f.x0 {
		return f.plot.X
	}
	return f.plot.X + (x-f.x0)/(f.x1-f.x0)*f.plot.W
}

func (f *frame) py(y float64) float64 {
	var t float64
	if f.logY {
		y = max(y, f.y0)
		t = (math.Log10(y) - math.Log10(f.y0)) / (math.Log10(f.y1) - math.Log10(f.y0))
	} else if f.y1 != f.y0 {
		t = (y - f.y0) / (f.y1 - f.y0)
	}
	t = min(max(t, 0), 1)
	return f.plot.Y + f.plot.H - t*f.plot.H
}

// draw draws everything but the data: call it first, then draw the data
// inside f.plot, then call finish.
func (f *frame) draw(c *Canvas, a Rect) {
	f.layout(a)
	c.Text(a.X+a.W/2, a.Y+16, f.title, "middle", 13, "#111")
	lx := f.plot.X
	for _, e := range f.legend {
		c.Line(lx, a.Y+29, lx+16, a.Y+29, e.color, 3, e.dashed)
		c.Text(lx+20, a.Y+33, e.name, "start", 11, "#333")
		lx += 28 + 6.2*float64(len(e.name))
	}
	for _, b := range f.bands {
		fill := b.Fill
		if fill == "" {
			fill = "#f3f3f3"
		}
		x0, x1 := f.px(max(b.From, f.x0)), f.px(min(b.To, f.x1))
		c.Rect(Rect{x0, f.plot.Y, x1 - x0, f.plot.H}, fill, "")
	}
	// y grid and ticks
	for _, v := range f.yTicks() {
		y := f.py(v)
		c.Line(f.plot.X, y, f.plot.X+f.plot.W, y, "#ddd", 1, false)
		c.Text(f.plot.X-4, y+4, f.yTickLabel(v), "end", 10, "#555")
	}
	for _, v := range niceTicks(f.x0, f.x1, 8) {
		x := f.px(v)
		c.Line(x, f.plot.Y+f.plot.H, x, f.plot.Y+f.plot.H+4, "#999", 1, false)
		c.Text(x, f.plot.Y+f.plot.H+15, format(v), "middle", 10, "#555")
	}
	if f.xLabel != "" {
		c.Text(f.plot.X+f.plot.W/2, f.plot.Y+f.plot.H+30, f.xLabel, "middle", 11, "#333")
	}
}

// finish draws the bands' edges and labels and the axes' lines over
// the data.
func (f *frame) finish(c *Canvas) {
	for _, b := range f.bands {
		for _, x := range []float64{b.From, b.To} {
			if x > f.x0 && x < f.x1 {
				c.Line(f.px(x), f.plot.Y, f.px(x), f.plot.Y+f.plot.H, "#777", 1, true)
			}
		}
	}
	for _, b := range f.bands {
		x0, x1 := f.px(max(b.From, f.x0)), f.px(min(b.To, f.x1))
		if b.Label != "" && x1-x0 > 24 {
			w := min(6.0*float64(len([]rune(b.Label)))+6, x1-x0-2)
			c.Rect(Rect{(x0+x1)/2 - w/2, f.plot.Y + 2, w, 13}, "white", "")
			c.Text((x0+x1)/2, f.plot.Y+12, b.Label, "middle", 10, "#555")
		}
	}
	c.Line(f.plot.X, f.plot.Y+f.plot.H, f.plot.X+f.plot.W, f.plot.Y+f.plot.H, "#666", 1, false)
	c.Line(f.plot.X, f.plot.Y, f.plot.X, f.plot.Y+f.plot.H, "#666", 1, false)
}

func (f *frame) yTicks() []float64 {
	if !f.logY {
		return niceTicks(f.y0, f.y1, 5)
	}
	var ts []float64
	for e := math.Floor(math.Log10(f.y0)); e <= math.Log10(f.y1)+1e-9; e++ {
		ts = append(ts, math.Pow(10, e))
	}
	return ts
}

func (f *frame) yTickLabel(v float64) string {
	if f.percent {
		return strconv.FormatFloat(v*100, 'f', 0, 64) + "%"
	}
	s := format(v)
	if f.yUnit != "" {
		s += " " + f.yUnit
	}
	return s
}

// niceTicks returns about n round values (1, 2 or 5 times a power of ten
// apart) covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if !(hi > lo) || n < 1 {
		return []float64{lo}
	}
	raw := (hi - lo) / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	step := p
	for _, m := range []float64{1, 2, 5, 10} {
		step = m * p
		if step >= raw {
			break
		}
	}
	var ts []float64
	for k := math.Ceil(lo/step - 1e-9); k*step <= hi+step*1e-9 && len(ts) < 4*n; k++ {
		v, _ := strconv.ParseFloat(strconv.FormatFloat(k*step, 'g', 12, 64), 64)
		ts = append(ts, v+0) // +0 turns -0 into 0
	}
	return ts
}

// niceMax rounds v up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

func format(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
