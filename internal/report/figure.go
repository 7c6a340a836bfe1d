package report

import "fmt"

// A Panel is one chart of a Figure: it draws itself inside the area it is
// given. LineChart and StackChart are Panels; anything else that draws on
// a Canvas can be one too.
type Panel interface {
	Draw(c *Canvas, area Rect)
}

// Figure lays panels out in a grid, left to right then top to bottom,
// under an optional title and note.
type Figure struct {
	Title string
	// Note is a line of smaller text under the title (what was measured,
	// how to regenerate it).
	Note string
	// Columns is the number of panels per row. Default 1.
	Columns int
	// PanelWidth and PanelHeight are each panel's size in pixels. Defaults
	// 420 and 260.
	PanelWidth, PanelHeight float64
	Panels                  []Panel
}

// SVG returns the figure as a standalone SVG document.
func (f Figure) SVG() []byte {
	cols := max(f.Columns, 1)
	pw, ph := f.PanelWidth, f.PanelHeight
	if pw <= 0 {
		pw = 420
	}
	if ph <= 0 {
		ph = 260
	}
	rows := (len(f.Panels) + cols - 1) / cols
	top := 8.0
	if f.Title != "" {
		top += 22
	}
	if f.Note != "" {
		top += 16
	}
	w, h := float64(cols)*pw, top+float64(rows)*ph+8
	var c Canvas
	fmt.Fprintf(&c.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="sans-serif">`+"\n",
		num(w), num(h), num(w), num(h))
	c.Rect(Rect{0, 0, w, h}, "white", "")
	y := 8.0
	if f.Title != "" {
		y += 16
		c.Text(w/2, y, f.Title, "middle", 16, "#111")
		y += 6
	}
	if f.Note != "" {
		y += 13
		c.Text(w/2, y, f.Note, "middle", 11, "#555")
		y += 3
	}
	for i, p := range f.Panels {
		r, col := i/cols, i%cols
		p.Draw(&c, Rect{X: float64(col) * pw, Y: top + float64(r)*ph, W: pw, H: ph})
	}
	c.b.WriteString("</svg>\n")
	return []byte(c.b.String())
}
