package faultsuite

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/internal/report"
)

// Command is the command that regenerates docs/scenarios/.
const Command = "go run ./cmd/bulwark scenarios -out docs/scenarios"

var outcomeColors = [numOutcomes]string{"#2f855a", "#3182ce", "#dd6b20", "#c53030"}

// Bands returns the scenario's phases as chart bands, in seconds: Down
// phases shaded red, phases of extra load shaded yellow.
func Bands(sc Scenario, scale float64) []report.Band {
	starts := phaseStarts(sc, scale)
	var out []report.Band
	for i, p := range sc.Phases {
		fill := "#ffffff"
		switch {
		case p.Down:
			fill = "#fde2e2"
		case p.Load > 1:
			fill = "#fef3c7"
		}
		out = append(out, report.Band{From: starts[i].Seconds(), To: starts[i+1].Seconds(), Label: p.Name, Fill: fill})
	}
	return out
}

// Figure returns the scenario's chart: for each mode, latency (p50 and p99
// of the calls sent in each time bucket), the outcomes' shares, and the
// requests reaching the dependency per second, over the phases.
func Figure(r *Result) report.Figure {
	bands := Bands(r.Scenario, r.Scale)
	n := int((r.Duration + r.Bucket - 1) / r.Bucket)
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = (time.Duration(i) * r.Bucket).Seconds()
	}
	var lat, out, hits []report.Panel
	for _, m := range r.Modes {
		byBucket := make([][]time.Duration, n)
		counts := make([][numOutcomes]float64, n)
		for _, c := range m.Calls {
			b := min(int(c.At/r.Bucket), n-1)
			byBucket[b] = append(byBucket[b], c.Took)
			counts[b][c.Outcome]++
		}
		p50 := report.Series{Name: "p50", Color: "#2b6cb0"}
		p99 := report.Series{Name: "p99", Color: "#c05621", Dashed: true}
		for i, ds := range byBucket {
			x := xs[i] + r.Bucket.Seconds()/2
			if len(ds) == 0 {
				p50.Points = append(p50.Points, report.Point{X: x, Y: math.NaN()})
				p99.Points = append(p99.Points, report.Point{X: x, Y: math.NaN()})
				continue
			}
			p50.Points = append(p50.Points, report.Point{X: x, Y: max(ms(quantile(ds, 0.5)), 0.1)})
			p99.Points = append(p99.Points, report.Point{X: x, Y: max(ms(quantile(ds, 0.99)), 0.1)})
		}
		lat = append(lat, report.LineChart{Title: m.Mode.String() + ": latency", YUnit: "ms", LogY: true, YMin: 0.1, YMax: 10000, Bands: bands, Series: []report.Series{p50, p99}})
		var layers []report.Layer
		for o := range numOutcomes {
			l := report.Layer{Name: o.String(), Color: outcomeColors[o], Values: make([]float64, n)}
			for i := range counts {
				l.Values[i] = counts[i][o]
			}
			layers = append(layers, l)
		}
		out = append(out, report.StackChart{Title: m.Mode.String() + ": outcomes", Shares: true, X: xs, Step: r.Bucket.Seconds(), Bands: bands, Layers: layers})
		reach := report.Series{Name: "requests reaching the dependency /s", Color: "#4a5568"}
		for i, h := range m.Hits {
			reach.Points = append(reach.Points, report.Point{X: xs[i] + r.Bucket.Seconds()/2, Y: float64(h) / r.Bucket.Seconds()})
		}
		hits = append(hits, report.LineChart{Title: m.Mode.String() + ": load on the dependency", XLabel: "seconds", Bands: bands, Series: []report.Series{reach}})
	}
	panels := append(append(lat, out...), hits...)
	return report.Figure{
		Title:   r.Scenario.Title,
		Note:    fmt.Sprintf("%s; %.0f requests/s, deadline %v; regenerate: %s", r.Scenario.What, r.Scenario.Rate, r.Deadline, Command),
		Columns: len(r.Modes),
		Panels:  panels,
	}
}

// Table returns one row per scenario and mode with the run's figures.
func Table(results []*Result) report.Table {
	t := report.Table{
		Header: []string{"scenario", "mode", "succeeded", "fallback", "failed fast", "failed slowly", "p50", "p99",
			"reached the dependency while down", "most sends of one request", "recovery", "goroutines start → end", "heap start → end"},
		Align: []report.Align{report.AlignLeft, report.AlignLeft, report.AlignRight, report.AlignRight, report.AlignRight, report.AlignRight,
			report.AlignRight, report.AlignRight, report.AlignRight, report.AlignRight, report.AlignRight, report.AlignRight, report.AlignRight},
	}
	for _, r := range results {
		for _, m := range r.Modes {
			s := summarize(r, m)
			down := "—"
			if hasDown(r.Scenario) {
				down = fmt.Sprint(m.ReachedDown)
			}
			rec := "never"
			if m.Recovery >= 0 {
				rec = fmt.Sprintf("%.2f s", m.Recovery.Seconds())
			}
			t.Rows = append(t.Rows, []string{
				"[" + r.Scenario.Name + "](#" + anchor(r.Scenario.Title) + ")", m.Mode.String(),
				pct(s.share[Succeeded]), pct(s.share[Fallback]), pct(s.share[FailedFast]), pct(s.share[FailedSlowly]),
				fmt.Sprintf("%.1f ms", ms(s.p50)), fmt.Sprintf("%.1f ms", ms(s.p99)),
				down, fmt.Sprint(m.MaxSends), rec,
				fmt.Sprintf("%d → %d", r.GoroutinesStart, r.GoroutinesEnd),
				fmt.Sprintf("%.1f → %.1f MiB", mib(r.HeapStart), mib(r.HeapEnd)),
			})
		}
	}
	return t
}

func hasDown(sc Scenario) bool {
	for _, p := range sc.Phases {
		if p.Down {
			return true
		}
	}
	return false
}

func pct(v float64) string { return fmt.Sprintf("%.1f%%", v) }
func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// anchor is GitHub's heading anchor for a title.
func anchor(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// WriteDocs writes dir/README.md (what was run, the table, each scenario's
// chart and the bounds checked) and one SVG per scenario.
func WriteDocs(dir string, results []*Result, started time.Time, took time.Duration) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# Fault scenarios

What bulwark does when a dependency breaks, measured on real sockets on 127.0.0.1: each
scenario starts three identical upstreams with the same scripted faults at the same moments
and drives the same open-loop load at each, three ways:

- **no protection**: a plain `+"`http.Client`"+`;
- **bulwarkhttp.Transport**: an `+"`http.Client`"+` over `+"`bulwarkhttp.Transport`"+` (retries, a breaker, an
  attempt timeout) inside a bulkhead and a fallback (`+"`bulwark.Chain(fallback, bulkhead)`"+`);
- **bulwark proxy**: a plain `+"`http.Client`"+` through the `+"`bulwark`"+` proxy (package `+"`sidecar`"+`,
  in-process) with the same policies on its route.

Both protected modes use: at most %d attempts (GET only; a POST is never retried), exponential
backoff from %v to %v with full jitter, a retry budget of 20 %% (at least 5/s), %v per attempt,
a count breaker (window %d, at least %d calls, opens at 50 %% failures, waits %v doubling to
%v, 3 probes), a bulkhead of %d (queueing at most %v). Every client request has a deadline of %v.
One request in ten is a POST.

Outcomes: **succeeded** is a 2xx from the dependency; **fallback** is a call bulwark refused
without reaching the dependency (breaker open, bulkhead full) that the client's fallback
answered; **failed fast** / **failed slowly** is any other error or failure status, before / after
%v. *Reached the dependency while down* counts the requests the upstream read during the
shaded phases plus the connections it refused while dead. *Most sends of one request* is the
largest count of one client request at the upstream (each carries an id header). *Recovery*
is the time from the last phase's start (the dependency healthy again) to the end of the first
%v bucket in which 90 %% of calls succeeded. Goroutines and heap are the whole process's, before
the scenario and after everything it started was closed; the heap grows by about 1 MiB a
scenario because the command keeps every call of the earlier scenarios for the table.

One config serves every scenario, and it is chosen to react fast: a 20-call window opens
the breaker a fraction of a second into an outage. The same small window trips on runs of bad
luck under 30 %% random failures (scenario 2), where the breaker then serves fallbacks to calls
the dependency would have answered, and the doubling wait delays recovery after a long outage.
A larger window (the breaker's default is 100) or a time window trades one for the other;
`+"`bulwark simulate`"+` compares such configs before they meet an outage.

Generated by `+"`%s`"+` on %s, in %v, at scale %g.
The same scenarios run in CI scaled down, with these bounds asserted
(`+"`internal/faultsuite`"+`, `+"`Result.Violations`"+`):

- during a full outage each protected mode sends at most %.0f %% of the requests that the unprotected client sends;
- no request reaches the dependency more than max_attempts (%d) times through bulwark, and no POST more than once in any mode;
- no caller waits longer than its deadline + %v through bulwark; every call gets an answer or an error, in every mode;
- no goroutine is left running.

`, MaxAttempts, initialBackoff, maxBackoff, AttemptTimeout, windowSize, minimumCalls, scaled(breakerWait, results[0].Scale),
		scaled(breakerMaxWait, results[0].Scale), maxConcurrent, bulkheadWait, results[0].Deadline, FastFailure, results[0].Bucket,
		Command, started.UTC().Format("2006-01-02"), took.Round(time.Second), results[0].Scale, 100*(1-OutageCut), MaxAttempts, Slack)
	b.WriteString(Table(results).Markdown())
	var broken []string
	for _, r := range results {
		broken = append(broken, r.Violations()...)
	}
	b.WriteString("\nBounds broken in this run: ")
	if len(broken) == 0 {
		b.WriteString("none.\n")
	} else {
		fmt.Fprintf(&b, "%d.\n\n", len(broken))
		for _, v := range broken {
			fmt.Fprintf(&b, "- %s\n", v)
		}
	}
	for _, r := range results {
		name := r.Scenario.Name + ".svg"
		if err := os.WriteFile(filepath.Join(dir, name), Figure(r).SVG(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&b, "\n## %s\n\nThe dependency: %s.\n\n![%s](%s)\n", r.Scenario.Title, r.Scenario.What, r.Scenario.Title, name)
	}
	return os.WriteFile(filepath.Join(dir, "README.md"), []byte(b.String()), 0o644)
}
