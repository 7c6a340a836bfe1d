package report

import (
	"fmt"
	"html"
	"strconv"
	"strings"
)

// Rect is an area of a Canvas, in pixels from its top left corner.
type Rect struct{ X, Y, W, H float64 }

// Canvas accumulates SVG elements. Panels draw on it; Figure makes one and
// returns its bytes. Coordinates are written with one decimal, so output
// is deterministic.
type Canvas struct {
	b strings.Builder
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// Rect draws a filled rectangle; stroke may be empty for none.
func (c *Canvas) Rect(r Rect, fill, stroke string) {
	fmt.Fprintf(&c.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"`, num(r.X), num(r.Y), num(max(r.W, 0)), num(max(r.H, 0)), attr(fill))
	if stroke != "" {
		fmt.Fprintf(&c.b, ` stroke="%s"`, attr(stroke))
	}
	c.b.WriteString("/>\n")
}

// Line draws a straight line.
func (c *Canvas) Line(x1, y1, x2, y2 float64, stroke string, width float64, dashed bool) {
	fmt.Fprintf(&c.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"`, num(x1), num(y1), num(x2), num(y2), attr(stroke), num(width))
	if dashed {
		c.b.WriteString(` stroke-dasharray="5,3"`)
	}
	c.b.WriteString("/>\n")
}

// Polyline draws connected segments through xs[i], ys[i].
func (c *Canvas) Polyline(xs, ys []float64, stroke string, width float64, dashed bool) {
	if len(xs) == 0 {
		return
	}
	c.b.WriteString(`<polyline fill="none" points="`)
	for i := range xs {
		if i > 0 {
			c.b.WriteByte(' ')
		}
		c.b.WriteString(num(xs[i]))
		c.b.WriteByte(',')
		c.b.WriteString(num(ys[i]))
	}
	fmt.Fprintf(&c.b, `" stroke="%s" stroke-width="%s" stroke-linejoin="round"`, attr(stroke), num(width))
	if dashed {
		c.b.WriteString(` stroke-dasharray="5,3"`)
	}
	c.b.WriteString("/>\n")
}

// Text writes s at (x, y); anchor is "start", "middle" or "end".
func (c *Canvas) Text(x, y float64, s, anchor string, size float64, fill string) {
	fmt.Fprintf(&c.b, `<text x="%s" y="%s" text-anchor="%s" font-size="%s" fill="%s">%s</text>`+"\n",
		num(x), num(y), attr(anchor), num(size), attr(fill), html.EscapeString(s))
}

func attr(s string) string { return html.EscapeString(s) }
