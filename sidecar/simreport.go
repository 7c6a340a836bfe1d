package sidecar

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/internal/report"
	"github.com/bulwark-go/bulwark/simulate"
)

// simRun is one config's result in a simulation report.
type simRun struct {
	name string
	res  *simulate.Result
}

// simTable is the runs side by side: one row per config.
func simTable(runs []simRun) report.Table {
	var outcomes []string
	for _, r := range runs {
		for _, o := range r.res.Outcomes {
			if !slices.Contains(outcomes, o) {
				outcomes = append(outcomes, o)
			}
		}
	}
	slices.Sort(outcomes)
	t := report.Table{Header: []string{"config", "requests", "succeeded"}}
	t.Header = append(t.Header, outcomes...)
	t.Header = append(t.Header, "p50", "p99", "reached dependency", "during outage (vs normal)", "recovery")
	t.Align = []report.Align{report.AlignLeft}
	for range len(t.Header) - 1 {
		t.Align = append(t.Align, report.AlignRight)
	}
	for _, r := range runs {
		s := r.res.Summary
		row := []string{r.name, fmt.Sprint(s.Requests), pct(s.Succeeded)}
		for _, o := range outcomes {
			row = append(row, pct(s.Shares[o]))
		}
		rec := "never"
		if s.Recovery >= 0 {
			rec = s.Recovery.String()
		}
		row = append(row, ms(s.P50), ms(s.P99), fmt.Sprint(s.Attempts),
			fmt.Sprintf("%d (%s)", s.OutageAttempts, pct(s.OutageLoad)), rec)
		t.Rows = append(t.Rows, row)
	}
	return t
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

// simFigure charts the runs: outcomes over time for each config, then p99
// latency, calls reaching the dependency and the policies' gauges, one line
// per config.
func simFigure(title string, runs []simRun) report.Figure {
	res0 := runs[0].res
	var bands []report.Band
	for _, p := range res0.Phases {
		b := report.Band{From: p.Start.Seconds(), To: p.End.Seconds(), Label: p.Name}
		if p.Outage {
			b.Fill = "#fde2e2"
		}
		bands = append(bands, b)
	}
	step := res0.Bucket.Seconds()
	xs := make([]float64, len(res0.Series))
	for i, r := range res0.Series {
		xs[i] = r.At.Seconds()
	}
	fig := report.Figure{Title: title, Columns: 2}
	for _, run := range runs {
		var layers []report.Layer
		for _, o := range run.res.Outcomes {
			l := report.Layer{Name: o, Values: make([]float64, len(run.res.Series))}
			for i, r := range run.res.Series {
				l.Values[i] = float64(r.Outcomes[o])
			}
			layers = append(layers, l)
		}
		fig.Panels = append(fig.Panels, report.StackChart{
			Title: "outcomes: " + run.name, XLabel: "s", YUnit: "%", X: xs, Step: step, Shares: true, Bands: bands, Layers: layers,
		})
	}
	line := func(title, unit string, logY bool, y func(*simulate.Result, simulate.Row) float64) report.LineChart {
		c := report.LineChart{Title: title, XLabel: "s", YUnit: unit, LogY: logY, Bands: bands}
		for _, run := range runs {
			s := report.Series{Name: run.name}
			for _, r := range run.res.Series {
				s.Points = append(s.Points, report.Point{X: r.At.Seconds(), Y: y(run.res, r)})
			}
			c.Series = append(c.Series, s)
		}
		return c
	}
	fig.Panels = append(fig.Panels,
		line("p99 latency", "ms", true, func(_ *simulate.Result, r simulate.Row) float64 {
			if r.P99 == 0 {
				return math.NaN()
			}
			return float64(r.P99) / 1e6
		}),
		line("requests reaching the dependency", "/s", false, func(_ *simulate.Result, r simulate.Row) float64 { return float64(r.Attempts) / step }),
	)
	var gauges []string
	for _, run := range runs {
		for _, g := range run.res.Gauges {
			if !slices.Contains(gauges, g) {
				gauges = append(gauges, g)
			}
		}
	}
	for _, g := range gauges {
		title, unit := g, "%"
		if strings.HasSuffix(g, " breaker") {
			title, unit = g+" (0 closed, 1 half-open, 2 open)", ""
		}
		c := line(title, unit, false, func(res *simulate.Result, r simulate.Row) float64 {
			gi := slices.Index(res.Gauges, g)
			if gi < 0 {
				return math.NaN()
			}
			if unit == "%" {
				return 100 * r.Gauges[gi]
			}
			return r.Gauges[gi]
		})
		if unit == "" {
			c.YMax = 2
		}
		fig.Panels = append(fig.Panels, c)
	}
	return fig
}
