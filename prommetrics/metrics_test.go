package prommetrics

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/catalog"
	"github.com/bulwark-go/bulwark/lockorder"
)

func newTest(t testing.TB) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m, err := New(Config{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

func TestObserveCountsEvents(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name   string
		events []bulwark.Event
		metric string
		want   string // exposition text of metric
	}{{
		name: "breaker calls by outcome",
		events: []bulwark.Event{
			{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeSuccess},
			{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeSuccess, Slow: true},
			{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeFailure, Err: errBoom},
			{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeIgnored},
			{Kind: bulwark.KindRejected, Policy: "breaker", Name: "db"},
			{Kind: bulwark.KindRejected, Policy: "breaker", Name: "db"},
			{Kind: bulwark.KindCall, Policy: "breaker", Name: "cache", Outcome: bulwark.OutcomeSuccess},
		},
		metric: "bulwark_breaker_calls_total",
		want: `
bulwark_breaker_calls_total{name="cache",outcome="failure"} 0
bulwark_breaker_calls_total{name="cache",outcome="ignored"} 0
bulwark_breaker_calls_total{name="cache",outcome="rejected"} 0
bulwark_breaker_calls_total{name="cache",outcome="success"} 1
bulwark_breaker_calls_total{name="db",outcome="failure"} 1
bulwark_breaker_calls_total{name="db",outcome="ignored"} 1
bulwark_breaker_calls_total{name="db",outcome="rejected"} 2
bulwark_breaker_calls_total{name="db",outcome="success"} 2
`,
	}, {
		name: "breaker slow calls",
		events: []bulwark.Event{
			{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeSuccess, Slow: true},
			{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeFailure, Slow: true},
			{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeFailure, Slow: true},
			{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeFailure},
		},
		metric: "bulwark_breaker_slow_calls_total",
		want: `
bulwark_breaker_slow_calls_total{name="db",outcome="failure"} 2
bulwark_breaker_slow_calls_total{name="db",outcome="ignored"} 0
bulwark_breaker_slow_calls_total{name="db",outcome="success"} 1
`,
	}, {
		name: "breaker transitions",
		events: []bulwark.Event{
			{Kind: bulwark.KindStateChange, Policy: "breaker", Name: "db", From: "closed", To: "open"},
			{Kind: bulwark.KindStateChange, Policy: "breaker", Name: "db", From: "open", To: "half_open"},
			{Kind: bulwark.KindStateChange, Policy: "breaker", Name: "db", From: "half_open", To: "open"},
			{Kind: bulwark.KindStateChange, Policy: "breaker", Name: "db", From: "open", To: "half_open"},
			{Kind: bulwark.KindStateChange, Policy: "breaker", Name: "db", From: "half_open", To: "closed"},
		},
		metric: "bulwark_breaker_transitions_total",
		want: `
bulwark_breaker_transitions_total{from="closed",name="db",to="open"} 1
bulwark_breaker_transitions_total{from="half_open",name="db",to="closed"} 1
bulwark_breaker_transitions_total{from="half_open",name="db",to="open"} 1
bulwark_breaker_transitions_total{from="open",name="db",to="half_open"} 2
`,
	}, {
		name: "retries",
		events: []bulwark.Event{
			{Kind: bulwark.KindRetry, Policy: "retry", Name: "api", Attempt: 2},
			{Kind: bulwark.KindRetry, Policy: "retry", Name: "api", Attempt: 3},
			{Kind: bulwark.KindExhausted, Policy: "retry", Name: "api", Attempt: 3},
			{Kind: bulwark.KindBudgetExhausted, Policy: "retry", Name: "api"},
		},
		metric: "bulwark_retry_retries_total",
		want:   `bulwark_retry_retries_total{name="api"} 2`,
	}, {
		name:   "exhausted",
		events: []bulwark.Event{{Kind: bulwark.KindExhausted, Policy: "retry", Name: "api", Attempt: 3}},
		metric: "bulwark_retry_exhausted_total",
		want:   `bulwark_retry_exhausted_total{name="api"} 1`,
	}, {
		name:   "budget",
		events: []bulwark.Event{{Kind: bulwark.KindBudgetExhausted, Policy: "retry", Name: "api"}},
		metric: "bulwark_retry_budget_rejections_total",
		want:   `bulwark_retry_budget_rejections_total{name="api"} 1`,
	}, {
		name:   "timeout",
		events: []bulwark.Event{{Kind: bulwark.KindTimeout, Policy: "timeout", Name: "api", Delay: time.Second}},
		metric: "bulwark_timeout_exceeded_total",
		want:   `bulwark_timeout_exceeded_total{name="api"} 1`,
	}, {
		name: "fallback served",
		events: []bulwark.Event{
			{Kind: bulwark.KindFallback, Policy: "fallback", Name: "api", Outcome: bulwark.OutcomeSuccess, Err: errBoom},
			{Kind: bulwark.KindFallback, Policy: "fallback", Name: "api", Outcome: bulwark.OutcomeFailure, Err: errBoom},
		},
		metric: "bulwark_fallback_served_total",
		want:   `bulwark_fallback_served_total{name="api"} 1`,
	}, {
		name: "fallback failed",
		events: []bulwark.Event{
			{Kind: bulwark.KindFallback, Policy: "fallback", Name: "api", Outcome: bulwark.OutcomeFailure, Err: errBoom},
			{Kind: bulwark.KindFallback, Policy: "fallback", Name: "api", Outcome: bulwark.OutcomeFailure, Err: errBoom},
		},
		metric: "bulwark_fallback_failed_total",
		want:   `bulwark_fallback_failed_total{name="api"} 2`,
	}, {
		name: "bulkhead calls",
		events: []bulwark.Event{
			{Kind: bulwark.KindCall, Policy: "bulkhead", Name: "pool", Outcome: bulwark.OutcomeSuccess},
			{Kind: bulwark.KindCall, Policy: "bulkhead", Name: "pool", Outcome: bulwark.OutcomeFailure},
			{Kind: bulwark.KindCall, Policy: "bulkhead", Name: "pool", Outcome: bulwark.OutcomeSuccess},
		},
		metric: "bulwark_bulkhead_calls_total",
		want: `
bulwark_bulkhead_calls_total{name="pool",outcome="failure"} 1
bulwark_bulkhead_calls_total{name="pool",outcome="ignored"} 0
bulwark_bulkhead_calls_total{name="pool",outcome="success"} 2
`,
	}, {
		name:   "bulkhead rejected",
		events: []bulwark.Event{{Kind: bulwark.KindRejected, Policy: "bulkhead", Name: "pool"}},
		metric: "bulwark_bulkhead_rejected_total",
		want:   `bulwark_bulkhead_rejected_total{name="pool"} 1`,
	}, {
		name:   "rate limited",
		events: []bulwark.Event{{Kind: bulwark.KindRejected, Policy: "ratelimit", Name: "api"}},
		metric: "bulwark_ratelimit_rejected_total",
		want:   `bulwark_ratelimit_rejected_total{name="api"} 1`,
	}, {
		name:   "shed",
		events: []bulwark.Event{{Kind: bulwark.KindRejected, Policy: "adaptive", Name: "api"}},
		metric: "bulwark_adaptive_shed_total",
		want:   `bulwark_adaptive_shed_total{name="api"} 1`,
	}, {
		name: "hedges",
		events: []bulwark.Event{
			{Kind: bulwark.KindHedge, Policy: "hedge", Name: "api", Attempt: 2},
			{Kind: bulwark.KindHedge, Policy: "hedge", Name: "api", Attempt: 3},
			{Kind: bulwark.KindHedgeWon, Policy: "hedge", Name: "api"},
		},
		metric: "bulwark_hedge_started_total",
		want:   `bulwark_hedge_started_total{name="api"} 2`,
	}, {
		name:   "hedge won",
		events: []bulwark.Event{{Kind: bulwark.KindHedgeWon, Policy: "hedge", Name: "api"}},
		metric: "bulwark_hedge_won_total",
		want:   `bulwark_hedge_won_total{name="api"} 1`,
	}, {
		name:   "panics",
		events: []bulwark.Event{{Kind: bulwark.KindPanic, Policy: "recovery", Name: "worker", Stack: []byte("stack")}},
		metric: "bulwark_recovery_panics_total",
		want:   `bulwark_recovery_panics_total{name="worker"} 1`,
	}, {
		name:   "inversions",
		events: []bulwark.Event{{Kind: lockorder.KindInversion, Policy: "lockorder", Name: "locks"}},
		metric: "bulwark_lockorder_inversions_total",
		want:   `bulwark_lockorder_inversions_total{name="locks"} 1`,
	}, {
		name:   "long waits",
		events: []bulwark.Event{{Kind: lockorder.KindLongWait, Policy: "lockorder", Name: "locks", Delay: time.Second}},
		metric: "bulwark_lockorder_long_waits_total",
		want:   `bulwark_lockorder_long_waits_total{name="locks"} 1`,
	}, {
		name: "events no metric covers",
		events: []bulwark.Event{
			{Kind: bulwark.KindCall, Policy: "timeout", Name: "api", Outcome: bulwark.OutcomeSuccess},
			{Kind: bulwark.KindCall, Policy: "timeout", Name: "api", Outcome: bulwark.OutcomeFailure},
			{Kind: bulwark.KindCall, Policy: "breaker", Name: "db"}, // no outcome
			{Kind: bulwark.KindRejected, Policy: "mine", Name: "x"},
			{Kind: bulwark.Kind(200), Policy: "mine", Name: "x"},
			{Kind: bulwark.KindFallback, Policy: "fallback", Name: "api"}, // no outcome
			{Kind: bulwark.KindRejected, Policy: "chaos", Name: "x"},      // counted from its snapshot
		},
		metric: "bulwark_events_total",
		want: `
bulwark_events_total{kind="call",name="api",policy="timeout"} 2
bulwark_events_total{kind="call",name="db",policy="breaker"} 1
bulwark_events_total{kind="fallback",name="api",policy="fallback"} 1
bulwark_events_total{kind="rejected",name="x",policy="mine"} 1
bulwark_events_total{kind="unknown",name="x",policy="mine"} 1
`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, reg := newTest(t)
			for _, e := range tt.events {
				m.Observe(e)
			}
			if err := testutil.GatherAndCompare(reg, expo(t, reg, tt.metric, tt.want), tt.metric); err != nil {
				t.Error(err)
			}
		})
	}
}

// expo prefixes want with the HELP and TYPE lines of metric as reg reports
// them, so that tests state only the samples.
func expo(t *testing.T, reg *prometheus.Registry, metric, want string) *strings.Reader {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == metric {
			head := "# HELP " + metric + " " + mf.GetHelp() + "\n# TYPE " + metric + " " +
				strings.ToLower(mf.GetType().String()) + "\n"
			return strings.NewReader(head + strings.TrimSpace(want) + "\n")
		}
	}
	t.Fatalf("%s not gathered", metric)
	return nil
}

func TestWaitHistogram(t *testing.T) {
	m, reg := newTest(t)
	for _, d := range []time.Duration{50 * time.Microsecond, 2 * time.Millisecond, 2 * time.Millisecond, 3 * time.Second} {
		m.Observe(bulwark.Event{Kind: bulwark.KindWait, Policy: "ratelimit", Name: "api", Delay: d})
	}
	m.Observe(bulwark.Event{Kind: bulwark.KindWait, Policy: "bulkhead", Name: "pool", Delay: time.Millisecond})
	const want = `
bulwark_ratelimit_wait_seconds_bucket{name="api",le="0.0001"} 1
bulwark_ratelimit_wait_seconds_bucket{name="api",le="0.0005"} 1
bulwark_ratelimit_wait_seconds_bucket{name="api",le="0.001"} 1
bulwark_ratelimit_wait_seconds_bucket{name="api",le="0.005"} 3
bulwark_ratelimit_wait_seconds_bucket{name="api",le="0.01"} 3
bulwark_ratelimit_wait_seconds_bucket{name="api",le="0.05"} 3
bulwark_ratelimit_wait_seconds_bucket{name="api",le="0.1"} 3
bulwark_ratelimit_wait_seconds_bucket{name="api",le="0.5"} 3
bulwark_ratelimit_wait_seconds_bucket{name="api",le="1"} 3
bulwark_ratelimit_wait_seconds_bucket{name="api",le="5"} 4
bulwark_ratelimit_wait_seconds_bucket{name="api",le="+Inf"} 4
bulwark_ratelimit_wait_seconds_sum{name="api"} 3.00405
bulwark_ratelimit_wait_seconds_count{name="api"} 4
`
	if err := testutil.GatherAndCompare(reg, expo(t, reg, "bulwark_ratelimit_wait_seconds", want), "bulwark_ratelimit_wait_seconds"); err != nil {
		t.Error(err)
	}
	if got := testutil.CollectAndCount(m.fam.histograms[catalog.Policies["bulkhead"].Wait]); got != 1 {
		t.Errorf("bulkhead wait series = %d, want 1", got)
	}
}

func TestNewRejectsBadBuckets(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"empty durations", Config{DurationBuckets: []float64{}}, "DurationBuckets is empty"},
		{"decreasing", Config{DurationBuckets: []float64{1, 0.5}}, "DurationBuckets[1] = 0.5 is not greater"},
		{"equal waits", Config{WaitBuckets: []float64{1, 1}}, "WaitBuckets[1] = 1 is not greater"},
		{"infinite", Config{WaitBuckets: []float64{1, posInf()}}, "WaitBuckets[1] is +Inf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Registerer = prometheus.NewRegistry()
			_, err := New(tt.cfg)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: err = %v, want ErrConfig mentioning %q", err, tt.want)
			}
		})
	}
}

func posInf() float64 { var z float64; return 1 / z }

func TestNewTwiceOnOneRegistryFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(Config{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{Registerer: reg})
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Errorf("second New: err = %v, want AlreadyRegisteredError", err)
	}
}

func TestCustomBuckets(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(Config{Registerer: reg, DurationBuckets: []float64{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	p := m.Pipeline("op", bulwark.Chain())
	if err := bulwark.Run(t.Context(), p, func(ctx context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == catalog.Pipeline.PromName() {
			if n := len(mf.GetMetric()[0].GetHistogram().GetBucket()); n != 2 {
				t.Errorf("buckets = %d, want 2", n)
			}
			return
		}
	}
	t.Error("pipeline histogram not gathered")
}

func TestObserveCacheKeepsSeriesApart(t *testing.T) {
	m, reg := newTest(t)
	// 300 names, built at run time so their strings are distinct, more than
	// the cache has slots; each name used by two kinds of policy, and by a
	// copy of its string at another address.
	const n = 300
	for range 3 {
		for i := range n {
			name := fmt.Sprintf("p%d", i)
			clone := strings.Clone(name)
			m.Observe(bulwark.Event{Kind: bulwark.KindCall, Policy: "breaker", Name: name, Outcome: bulwark.OutcomeSuccess})
			m.Observe(bulwark.Event{Kind: bulwark.KindRejected, Policy: "bulkhead", Name: name})
			m.Observe(bulwark.Event{Kind: bulwark.KindCall, Policy: "breaker", Name: clone, Outcome: bulwark.OutcomeFailure})
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			v := s.GetCounter().GetValue()
			if v == 0 {
				continue
			}
			key := mf.GetName()
			for _, l := range s.GetLabel() {
				key += " " + l.GetValue()
			}
			if v != 3 {
				t.Errorf("%s = %v, want 3", key, v)
			}
			got[mf.GetName()]++
		}
	}
	want := map[string]int{"bulwark_breaker_calls_total": 2 * n, "bulwark_bulkhead_rejected_total": n}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %d series with value 3, want %d", k, got[k], w)
		}
	}
}
