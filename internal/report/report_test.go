package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
)

func TestTableMarkdown(t *testing.T) {
	tb := Table{
		Header: []string{"scenario", "ok", "p99"},
		Align:  []Align{AlignLeft, AlignRight, AlignCenter},
		Rows:   [][]string{{"a|b", "99%"}, {"two\nlines", "1", "2", "extra"}},
	}
	got := tb.Markdown()
	want := "| scenario | ok | p99 |\n| --- | --: | :-: |\n| a\\|b | 99% |  |\n| two lines | 1 | 2 |\n"
	if got != want {
		t.Errorf("Markdown:\ngot\n%s\nwant\n%s", got, want)
	}
}

func TestNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		n      int
		want   string
	}{
		{0, 10, 5, "[0 2 4 6 8 10]"},
		{0, 37, 4, "[0 10 20 30]"},
		{0.5, 1.2, 4, "[0.6 0.8 1 1.2]"},
		{3, 3, 4, "[3]"},
	} {
		if got := fmt.Sprint(niceTicks(tc.lo, tc.hi, tc.n)); got != tc.want {
			t.Errorf("niceTicks(%v, %v, %d) = %s, want %s", tc.lo, tc.hi, tc.n, got, tc.want)
		}
	}
	for _, tc := range []struct{ v, want float64 }{{0, 1}, {7, 10}, {10, 10}, {11, 20}, {0.03, 0.05}, {450, 500}} {
		if got := niceMax(tc.v); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("niceMax(%v) = %v, want %v", tc.v, got, tc.want)
		}
	}
}

func sample() Figure {
	bands := []Band{{From: 2, To: 5, Label: "down <&>", Fill: "#fde2e2"}}
	return Figure{
		Title:   "a title with <markup> & quotes\"",
		Note:    "note",
		Columns: 2,
		Panels: []Panel{
			LineChart{Title: "latency", XLabel: "s", YUnit: "ms", LogY: true, Bands: bands, Series: []Series{
				{Name: "none", Points: []Point{{0, 5}, {1, 6}, {2, 1000}, {3, math.NaN()}, {4, 900}, {6, 5}}},
				{Name: "bulwark", Dashed: true, Points: []Point{{0, 5}, {1, 5}, {2, 0}, {6, 5}}},
			}},
			StackChart{Title: "outcomes", Shares: true, X: []float64{0, 1, 2, 3, 4, 5}, Step: 1, Bands: bands, Layers: []Layer{
				{Name: "ok", Values: []float64{10, 10, 0, 0, 5, 10}},
				{Name: "failed", Values: []float64{0, 0, 10, 10, 5}},
			}},
			LineChart{Title: "empty"},
			StackChart{Title: "empty"},
		},
	}
}

func TestFigureSVGIsWellFormedAndDeterministic(t *testing.T) {
	a, b := sample().SVG(), sample().SVG()
	if !bytes.Equal(a, b) {
		t.Fatal("two renderings of the same figure differ")
	}
	d := xml.NewDecoder(bytes.NewReader(a))
	elems := map[string]int{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, a)
		}
		if se, ok := tok.(xml.StartElement); ok {
			elems[se.Name.Local]++
		}
	}
	if elems["svg"] != 1 || elems["polyline"] < 3 || elems["rect"] < 8 {
		t.Errorf("elements = %v, want one svg, at least 3 polylines (a NaN splits a line) and the bars", elems)
	}
	s := string(a)
	for _, want := range []string{"a title with &lt;markup&gt; &amp; quotes&#34;", "down &lt;&amp;&gt;", ">100%<", ">1000 ms<", "stroke-dasharray"} {
		if !strings.Contains(s, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if strings.Contains(s, "NaN") || strings.Contains(s, "Inf") {
		t.Error("SVG contains NaN or Inf coordinates")
	}
}

func TestLogAxisClampsNonPositive(t *testing.T) {
	f := frame{logY: true, y0: 1, y1: 1000, plot: Rect{0, 0, 100, 100}}
	if got := f.py(0); got != 100 {
		t.Errorf("py(0) on a log axis = %v, want the bottom (100)", got)
	}
	if got := f.py(10); math.Abs(got-100*2/3.0) > 1e-9 {
		t.Errorf("py(10) = %v, want %v", got, 100*2/3.0)
	}
}
