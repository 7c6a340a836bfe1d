package simulate

import (
	"encoding/json"
	"io"
	"math"
	"slices"
	"time"
)

// Latencies are kept in logarithmic bins, 5 % wide, from 10µs up: a
// percentile read from them is within 2.5 % of the exact one.
const (
	binBase  = 10e3 // ns
	binRatio = 1.05
	bins     = 400
)

func binOf(d time.Duration) int {
	if float64(d) <= binBase {
		return 0
	}
	return min(bins-1, 1+int(math.Log(float64(d)/binBase)/math.Log(binRatio)))
}

func binValue(i int) time.Duration {
	if i == 0 {
		return binBase
	}
	return time.Duration(binBase * math.Pow(binRatio, float64(i)-0.5))
}

type histogram []int64

func (h *histogram) add(d time.Duration) {
	if *h == nil {
		*h = make(histogram, bins)
	}
	(*h)[binOf(d)]++
}

func (h histogram) merge(o histogram) histogram {
	if o == nil {
		return h
	}
	if h == nil {
		h = make(histogram, bins)
	}
	for i, n := range o {
		h[i] += n
	}
	return h
}

func (h histogram) quantile(q float64) time.Duration {
	var n int64
	for _, c := range h {
		n += c
	}
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	var seen int64
	for i, c := range h {
		seen += c
		if seen >= max(rank, 1) {
			return binValue(i)
		}
	}
	return binValue(bins - 1)
}

type row struct {
	sends, attempts int
	outcomes        map[string]int
	lat             histogram
	gauges          []float64
	phase           int
}

type recorder struct {
	rows           []row
	requests       int
	succeeded      int
	outageAttempts int
}

func newRecorder(n, gauges int) *recorder {
	r := &recorder{rows: make([]row, n)}
	for i := range r.rows {
		r.rows[i].gauges = make([]float64, gauges)
	}
	return r
}

func (r *recorder) bucket(t, width time.Duration) int {
	return min(max(int(t/width), 0), len(r.rows)-1)
}

func (r *recorder) outcome(b int, name string, lat time.Duration) {
	row := &r.rows[b]
	if row.outcomes == nil {
		row.outcomes = map[string]int{}
	}
	row.outcomes[name]++
	row.lat.add(lat)
}

// Result is what a simulation run showed.
type Result struct {
	// Bucket is the width of a row of Series.
	Bucket time.Duration `json:"bucket"`
	// Outcomes are the outcome names seen, sorted.
	Outcomes []string `json:"outcomes"`
	// Gauges are the names of the sampled gauges.
	Gauges []string `json:"gauges,omitempty"`
	// Phases are the names of the dependency's phases and when each starts.
	Phases []PhaseSpan `json:"phases,omitempty"`
	// Summary sums the run up.
	Summary Summary `json:"summary"`
	// Series has one row per bucket, by the time requests were sent.
	Series []Row `json:"series"`
}

// PhaseSpan is when one of the dependency's phases ran.
type PhaseSpan struct {
	Name   string        `json:"name"`
	Start  time.Duration `json:"start"`
	End    time.Duration `json:"end"`
	Outage bool          `json:"outage"`
}

// Row is one bucket of the time series.
type Row struct {
	At time.Duration `json:"at"`
	// Sends are the client requests sent in the bucket, clients' retries
	// included.
	Sends int `json:"sends"`
	// Attempts are the calls that reached the dependency.
	Attempts int `json:"attempts"`
	// Outcomes count how the bucket's sends ended, by outcome name.
	Outcomes map[string]int `json:"outcomes"`
	// P50 and P99 are the latencies the clients saw for the bucket's sends.
	P50 time.Duration `json:"p50"`
	P99 time.Duration `json:"p99"`
	// Gauges are the gauges' values at the bucket's end, in the order of
	// Result.Gauges.
	Gauges []float64 `json:"gauges,omitempty"`
	// Phase is the index of the dependency's phase at the bucket's start
	// (-1 for a trace).
	Phase int `json:"phase"`
}

// Summary sums up a run.
type Summary struct {
	// Requests are the client requests (a client's retries of one count
	// once); Sends count them all.
	Requests int `json:"requests"`
	Sends    int `json:"sends"`
	// Succeeded is the share of Requests that ended well, after any
	// client retries.
	Succeeded float64 `json:"succeeded"`
	// Shares are the share of Sends that ended with each outcome.
	Shares map[string]float64 `json:"shares"`
	// P50, P99 and Max are the latencies the clients saw, over all sends.
	P50 time.Duration `json:"p50"`
	P99 time.Duration `json:"p99"`
	// Attempts are the calls that reached the dependency; OutageAttempts
	// those made during outage phases.
	Attempts       int `json:"attempts"`
	OutageAttempts int `json:"outage_attempts"`
	// OutageLoad is the rate of calls reaching the dependency during the
	// outage phases over the rate outside them (0.2: a fifth of normal).
	// Zero when there is no outage or no call outside it.
	OutageLoad float64 `json:"outage_load"`
	// Recovery is the time from the end of the last outage phase to the end
	// of the first bucket after it in which the share of successful sends
	// was back to 90 % of what it was before the first outage (at least
	// 90 % of sends, for a dependency that served every call before): the
	// fault suite's definition (`bulwark scenarios`). -1 if it never came
	// back, 0 without an outage.
	Recovery time.Duration `json:"recovery"`
}

func (r *recorder) result(sc *Scenario, gauges []Gauge) *Result {
	res := &Result{Bucket: sc.Bucket, Series: make([]Row, len(r.rows))}
	for _, g := range gauges {
		res.Gauges = append(res.Gauges, g.Name)
	}
	var start time.Duration
	for i, p := range sc.Dependency {
		end := start + p.For
		if p.For == 0 || i == len(sc.Dependency)-1 {
			end = time.Duration(len(r.rows)) * sc.Bucket
		}
		res.Phases = append(res.Phases, PhaseSpan{Name: p.Name, Start: start, End: end, Outage: p.outage()})
		start = end
	}
	names := map[string]int{}
	var all histogram
	sum := &res.Summary
	sum.Requests, sum.OutageAttempts = r.requests, r.outageAttempts
	if r.requests > 0 {
		sum.Succeeded = float64(r.succeeded) / float64(r.requests)
	}
	var outageTime, normalTime time.Duration
	for i, rw := range r.rows {
		res.Series[i] = Row{
			At: time.Duration(i) * sc.Bucket, Sends: rw.sends, Attempts: rw.attempts,
			Outcomes: rw.outcomes, P50: rw.lat.quantile(0.5), P99: rw.lat.quantile(0.99),
			Gauges: rw.gauges, Phase: -1,
		}
		if len(sc.Dependency) > 0 {
			res.Series[i].Phase = rw.phase
			if sc.Dependency[rw.phase].outage() {
				outageTime += sc.Bucket
			} else {
				normalTime += sc.Bucket
			}
		}
		if res.Series[i].Outcomes == nil {
			res.Series[i].Outcomes = map[string]int{}
		}
		for n, c := range rw.outcomes {
			names[n] += c
		}
		sum.Sends += rw.sends
		sum.Attempts += rw.attempts
		all = all.merge(rw.lat)
	}
	for n := range names {
		res.Outcomes = append(res.Outcomes, n)
	}
	slices.Sort(res.Outcomes)
	sum.Shares = map[string]float64{}
	var finished int
	for _, c := range names {
		finished += c
	}
	for n, c := range names {
		sum.Shares[n] = float64(c) / float64(max(finished, 1))
	}
	sum.P50, sum.P99 = all.quantile(0.5), all.quantile(0.99)
	if normal := sum.Attempts - sum.OutageAttempts; outageTime > 0 && normal > 0 && normalTime > 0 {
		sum.OutageLoad = (float64(sum.OutageAttempts) / outageTime.Seconds()) / (float64(normal) / normalTime.Seconds())
	}
	sum.Recovery = recovery(res)
	return res
}

// recovery finds Summary.Recovery in the series.
func recovery(res *Result) time.Duration {
	first, last := -1, -1
	for i, p := range res.Phases {
		if p.Outage {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return 0
	}
	okShare := func(rw Row) (float64, bool) {
		var n int
		for _, c := range rw.Outcomes {
			n += c
		}
		return float64(rw.Outcomes["ok"]) / float64(max(n, 1)), n > 0
	}
	base, nb := 0.0, 0
	for _, rw := range res.Series {
		if rw.At+res.Bucket <= res.Phases[first].Start {
			if s, ok := okShare(rw); ok {
				base += s
				nb++
			}
		}
	}
	if nb == 0 {
		base, nb = 1, 1
	}
	base /= float64(nb)
	end := res.Phases[last].End
	for _, rw := range res.Series {
		if rw.At < end {
			continue
		}
		if s, ok := okShare(rw); ok && s >= 0.9*base {
			return rw.At + res.Bucket - end
		}
	}
	return -1
}

// WriteJSON writes r as indented JSON: durations in nanoseconds, maps with
// sorted keys, the same bytes for the same run.
func (r *Result) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}
