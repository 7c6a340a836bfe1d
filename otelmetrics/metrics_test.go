package otelmetrics

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/lockorder"
)

func newTest(t testing.TB) (*Metrics, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	m, err := New(Config{MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, reader
}

// collect reads every metric, by name.
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// attrs renders an attribute set as `k=v,k=v`, sorted by key.
func attrs(s attribute.Set) string {
	var parts []string
	for _, kv := range s.ToSlice() {
		parts = append(parts, string(kv.Key)+"="+kv.Value.Emit())
	}
	return strings.Join(parts, ",")
}

// points returns the data points of an int64 sum or gauge, or a float64
// gauge, as "attrs value" lines, sorted.
func points(t *testing.T, ms map[string]metricdata.Metrics, name string) []string {
	t.Helper()
	m, ok := ms[name]
	if !ok {
		t.Fatalf("%s not collected", name)
	}
	var out []string
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		if !d.IsMonotonic {
			t.Errorf("%s is not monotonic", name)
		}
		for _, p := range d.DataPoints {
			out = append(out, attrs(p.Attributes)+" "+itoa(float64(p.Value)))
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			out = append(out, attrs(p.Attributes)+" "+itoa(float64(p.Value)))
		}
	case metricdata.Gauge[float64]:
		for _, p := range d.DataPoints {
			out = append(out, attrs(p.Attributes)+" "+itoa(p.Value))
		}
	default:
		t.Fatalf("%s: unexpected data %T", name, m.Data)
	}
	slices.Sort(out)
	return out
}

func itoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func TestObserveCountsEvents(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name   string
		events []bulwark.Event
		metric string
		want   []string
	}{{
		name: "breaker calls by outcome",
		events: []bulwark.Event{
			{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeSuccess},
			{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeSuccess, Slow: true},
			{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeFailure, Err: boom},
			{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeIgnored},
			{Kind: bulwark.KindRejected, Policy: "breaker", Name: "db"},
			{Kind: bulwark.KindRejected, Policy: "breaker", Name: "db"},
		},
		metric: "bulwark.breaker.calls",
		want: []string{
			"name=db,outcome=failure 1",
			"name=db,outcome=ignored 1",
			"name=db,outcome=rejected 2",
			"name=db,outcome=success 2",
		},
	}, {
		name: "breaker slow calls",
		events: []bulwark.Event{
			{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeSuccess, Slow: true},
			{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeFailure, Slow: true},
			{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeFailure},
		},
		metric: "bulwark.breaker.slow_calls",
		want:   []string{"name=db,outcome=failure 1", "name=db,outcome=ignored 0", "name=db,outcome=success 1"},
	}, {
		name: "breaker transitions",
		events: []bulwark.Event{
			{Kind: bulwark.KindStateChange, Policy: "breaker", Name: "db", From: "closed", To: "open"},
			{Kind: bulwark.KindStateChange, Policy: "breaker", Name: "db", From: "open", To: "half_open"},
			{Kind: bulwark.KindStateChange, Policy: "breaker", Name: "db", From: "half_open", To: "open"},
			{Kind: bulwark.KindStateChange, Policy: "breaker", Name: "db", From: "open", To: "half_open"},
		},
		metric: "bulwark.breaker.transitions",
		want: []string{
			"from=closed,name=db,to=open 1",
			"from=half_open,name=db,to=open 1",
			"from=open,name=db,to=half_open 2",
		},
	}, {
		name: "retries",
		events: []bulwark.Event{
			{Kind: bulwark.KindRetry, Policy: "retry", Name: "api", Attempt: 2},
			{Kind: bulwark.KindRetry, Policy: "retry", Name: "api", Attempt: 3},
		},
		metric: "bulwark.retry.retries",
		want:   []string{"name=api 2"},
	}, {
		name:   "exhausted",
		events: []bulwark.Event{{Kind: bulwark.KindExhausted, Policy: "retry", Name: "api"}},
		metric: "bulwark.retry.exhausted",
		want:   []string{"name=api 1"},
	}, {
		name:   "budget",
		events: []bulwark.Event{{Kind: bulwark.KindBudgetExhausted, Policy: "retry", Name: "api"}},
		metric: "bulwark.retry.budget_rejections",
		want:   []string{"name=api 1"},
	}, {
		name:   "timeout",
		events: []bulwark.Event{{Kind: bulwark.KindTimeout, Policy: "timeout", Name: "api"}},
		metric: "bulwark.timeout.exceeded",
		want:   []string{"name=api 1"},
	}, {
		name: "fallback served",
		events: []bulwark.Event{
			{Kind: bulwark.KindFallback, Policy: "fallback", Name: "api", Outcome: bulwark.OutcomeSuccess},
			{Kind: bulwark.KindFallback, Policy: "fallback", Name: "api", Outcome: bulwark.OutcomeFailure},
			{Kind: bulwark.KindFallback, Policy: "fallback", Name: "api", Outcome: bulwark.OutcomeFailure},
		},
		metric: "bulwark.fallback.served",
		want:   []string{"name=api 1"},
	}, {
		name: "fallback failed",
		events: []bulwark.Event{
			{Kind: bulwark.KindFallback, Policy: "fallback", Name: "api", Outcome: bulwark.OutcomeFailure},
		},
		metric: "bulwark.fallback.failed",
		want:   []string{"name=api 1"},
	}, {
		name: "bulkhead calls",
		events: []bulwark.Event{
			{Kind: bulwark.KindCall, Policy: "bulkhead", Name: "pool", Outcome: bulwark.OutcomeSuccess},
			{Kind: bulwark.KindCall, Policy: "bulkhead", Name: "pool", Outcome: bulwark.OutcomeIgnored},
		},
		metric: "bulwark.bulkhead.calls",
		want:   []string{"name=pool,outcome=failure 0", "name=pool,outcome=ignored 1", "name=pool,outcome=success 1"},
	}, {
		name:   "bulkhead",
		events: []bulwark.Event{{Kind: bulwark.KindRejected, Policy: "bulkhead", Name: "pool"}},
		metric: "bulwark.bulkhead.rejected",
		want:   []string{"name=pool 1"},
	}, {
		name:   "ratelimit",
		events: []bulwark.Event{{Kind: bulwark.KindRejected, Policy: "ratelimit", Name: "api"}},
		metric: "bulwark.ratelimit.rejected",
		want:   []string{"name=api 1"},
	}, {
		name:   "adaptive",
		events: []bulwark.Event{{Kind: bulwark.KindRejected, Policy: "adaptive", Name: "api"}},
		metric: "bulwark.adaptive.shed",
		want:   []string{"name=api 1"},
	}, {
		name: "hedges",
		events: []bulwark.Event{
			{Kind: bulwark.KindHedge, Policy: "hedge", Name: "api"},
			{Kind: bulwark.KindHedge, Policy: "hedge", Name: "api"},
		},
		metric: "bulwark.hedge.started",
		want:   []string{"name=api 2"},
	}, {
		name:   "hedge won",
		events: []bulwark.Event{{Kind: bulwark.KindHedgeWon, Policy: "hedge", Name: "api"}},
		metric: "bulwark.hedge.won",
		want:   []string{"name=api 1"},
	}, {
		name:   "hedge budget",
		events: []bulwark.Event{{Kind: bulwark.KindBudgetExhausted, Policy: "hedge", Name: "api"}},
		metric: "bulwark.hedge.budget_rejections",
		want:   []string{"name=api 1"},
	}, {
		name:   "panics",
		events: []bulwark.Event{{Kind: bulwark.KindPanic, Policy: "recovery", Name: "worker"}},
		metric: "bulwark.recovery.panics",
		want:   []string{"name=worker 1"},
	}, {
		name:   "inversions",
		events: []bulwark.Event{{Kind: lockorder.KindInversion, Policy: "lockorder", Name: "locks"}},
		metric: "bulwark.lockorder.inversions",
		want:   []string{"name=locks 1"},
	}, {
		name:   "long waits",
		events: []bulwark.Event{{Kind: lockorder.KindLongWait, Policy: "lockorder", Name: "locks"}},
		metric: "bulwark.lockorder.long_waits",
		want:   []string{"name=locks 1"},
	}, {
		name: "events no instrument covers",
		events: []bulwark.Event{
			{Kind: bulwark.KindCall, Policy: "timeout", Name: "api", Outcome: bulwark.OutcomeSuccess},
			{Kind: bulwark.KindCall, Policy: "timeout", Name: "api", Outcome: bulwark.OutcomeFailure},
			{Kind: bulwark.KindCall, Policy: "breaker", Name: "db"},
			{Kind: bulwark.KindRejected, Policy: "mine", Name: "x"},
			{Kind: bulwark.Kind(200), Policy: "mine", Name: "x"},
			{Kind: bulwark.KindRejected, Policy: "chaos", Name: "x"}, // counted from its snapshot
		},
		metric: "bulwark.events",
		want: []string{
			"kind=call,name=api,policy=timeout 2",
			"kind=call,name=db,policy=breaker 1",
			"kind=rejected,name=x,policy=mine 1",
			"kind=unknown,name=x,policy=mine 1",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, r := newTest(t)
			for _, e := range tt.events {
				m.Observe(e)
			}
			got := points(t, collect(t, r), tt.metric)
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s:\ngot  %q\nwant %q", tt.metric, got, tt.want)
			}
		})
	}
}

// histogram returns the float64 histogram named name.
func histogram(t *testing.T, ms map[string]metricdata.Metrics, name string) metricdata.Histogram[float64] {
	t.Helper()
	h, ok := ms[name].Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s: %T, want a float64 histogram", name, ms[name].Data)
	}
	return h
}

func TestWaitHistogram(t *testing.T) {
	m, r := newTest(t)
	for _, d := range []time.Duration{50 * time.Microsecond, 2 * time.Millisecond, 3 * time.Second} {
		m.Observe(bulwark.Event{Kind: bulwark.KindWait, Policy: "ratelimit", Name: "api", Delay: d})
	}
	h, ok := collect(t, r)["bulwark.ratelimit.wait"].Data.(metricdata.Histogram[float64])
	if !ok || len(h.DataPoints) != 1 {
		t.Fatalf("bulwark.ratelimit.wait: %+v", h)
	}
	p := h.DataPoints[0]
	wantCounts := []uint64{1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0}
	if p.Count != 3 || !slices.Equal(p.BucketCounts, wantCounts) || !slices.Equal(p.Bounds, DefaultWaitBuckets) ||
		attrs(p.Attributes) != "name=api" || p.Sum < 3.00204999 || p.Sum > 3.00205001 {
		t.Errorf("got count %d sum %v buckets %v bounds %v attrs %s", p.Count, p.Sum, p.BucketCounts, p.Bounds, attrs(p.Attributes))
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: err = %v, want ErrConfig mentioning %q", err, tt.want)
			}
		})
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	m, _ := newTest(t)
	for _, e := range []bulwark.Event{
		{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeSuccess},
		{Kind: bulwark.KindRejected, Policy: "bulkhead", Name: "pool"},
		{Kind: bulwark.KindWait, Policy: "ratelimit", Name: "api", Delay: time.Millisecond},
	} {
		m.Observe(e)
		if n := testing.AllocsPerRun(100, func() { m.Observe(e) }); n != 0 {
			t.Errorf("Observe(%v %s): %v allocs, want 0", e.Kind, e.Policy, n)
		}
	}
}

func BenchmarkObserveCallSuccess(b *testing.B) {
	m, _ := newTest(b)
	e := bulwark.Event{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeSuccess}
	m.Observe(e)
	b.ReportAllocs()
	for b.Loop() {
		m.Observe(e)
	}
}

func TestObserveCacheKeepsSeriesApart(t *testing.T) {
	m, r := newTest(t)
	const n = 300 // more names than cache slots
	for range 2 {
		for i := range n {
			name := fmt.Sprintf("p%d", i)
			m.Observe(bulwark.Event{Kind: bulwark.KindRejected, Policy: "bulkhead", Name: name})
			m.Observe(bulwark.Event{Kind: bulwark.KindRejected, Policy: "ratelimit", Name: strings.Clone(name)})
		}
	}
	ms := collect(t, r)
	for _, metric := range []string{"bulwark.bulkhead.rejected", "bulwark.ratelimit.rejected"} {
		got := points(t, ms, metric)
		if len(got) != n {
			t.Errorf("%s: %d points, want %d", metric, len(got), n)
		}
		for _, p := range got {
			if !strings.HasSuffix(p, " 2") {
				t.Errorf("%s: %s, want 2", metric, p)
			}
		}
	}
}
