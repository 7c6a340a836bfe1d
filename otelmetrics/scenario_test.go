package otelmetrics

import (
	"slices"
	"testing"
	"testing/synctest"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/bulwark-go/bulwark/internal/scenario"
)

// scenarioWant holds, for each checkpoint of the scenario, the exact data
// points of the instruments it names.
var scenarioWant = map[string]map[string][]string{
	scenario.BreakerOpen: {
		"bulwark.breaker.calls": {
			"name=db,outcome=failure 4", "name=db,outcome=ignored 0", "name=db,outcome=rejected 1", "name=db,outcome=success 0",
		},
		"bulwark.breaker.failure_ratio":   {"name=db 1"},
		"bulwark.breaker.slow_call_ratio": {"name=db 0"},
		"bulwark.breaker.state": {
			"name=db,state=closed 0", "name=db,state=disabled 0", "name=db,state=forced-closed 0", "name=db,state=forced-open 0",
			"name=db,state=half-open 0", "name=db,state=metrics-only 0", "name=db,state=open 1",
		},
		"bulwark.breaker.transitions": {"from=closed,name=db,to=open 1"},
		"bulwark.retry.retries":       {"name=api 0"},
		"bulwark.bulkhead.in_use":     {"name=pool 0"},
		"bulwark.recovery.panics":     {"name=worker 0"},
	},
	scenario.BreakerClosed: {
		"bulwark.breaker.calls": {
			"name=db,outcome=failure 4", "name=db,outcome=ignored 0", "name=db,outcome=rejected 1", "name=db,outcome=success 1",
		},
		"bulwark.breaker.failure_ratio": {"name=db 0"},
		"bulwark.breaker.state": {
			"name=db,state=closed 1", "name=db,state=disabled 0", "name=db,state=forced-closed 0", "name=db,state=forced-open 0",
			"name=db,state=half-open 0", "name=db,state=metrics-only 0", "name=db,state=open 0",
		},
		"bulwark.breaker.transitions": {
			"from=closed,name=db,to=open 1", "from=half-open,name=db,to=closed 1", "from=open,name=db,to=half-open 1",
		},
	},
	scenario.Retried: {
		"bulwark.retry.attempts":          {"name=api 6"},
		"bulwark.retry.budget_rejections": {"name=api 0"},
		"bulwark.retry.calls":             {"name=api 2"},
		"bulwark.retry.exhausted":         {"name=api 1"},
		"bulwark.retry.retries":           {"name=api 4"},
	},
	scenario.BulkheadFull: {
		"bulwark.bulkhead.calls":    {"name=pool,outcome=failure 0", "name=pool,outcome=ignored 0", "name=pool,outcome=success 0"},
		"bulwark.bulkhead.capacity": {"name=pool 2"},
		"bulwark.bulkhead.in_use":   {"name=pool 2"},
		"bulwark.bulkhead.rejected": {"name=pool 1"},
		"bulwark.bulkhead.waiting":  {"name=pool 0"},
	},
	scenario.Recovered: {
		"bulwark.recovery.panics": {"name=worker 1"},
	},
	scenario.End: {
		"bulwark.breaker.calls": {
			"name=db,outcome=failure 4", "name=db,outcome=ignored 0", "name=db,outcome=rejected 1", "name=db,outcome=success 3",
		},
		"bulwark.breaker.slow_calls": {"name=db,outcome=failure 0", "name=db,outcome=ignored 0", "name=db,outcome=success 0"},
		"bulwark.bulkhead.calls":     {"name=pool,outcome=failure 0", "name=pool,outcome=ignored 0", "name=pool,outcome=success 2"},
		"bulwark.bulkhead.in_use":    {"name=pool 0"},
		"bulwark.bulkhead.rejected":  {"name=pool 1"},
		"bulwark.retry.attempts":     {"name=api 8"},
		"bulwark.retry.calls":        {"name=api 4"},
		"bulwark.retry.retries":      {"name=api 4"},
	},
}

// TestScenario plays the scripted scenario through the real policies and
// checks the exact figures a ManualReader collects at each checkpoint.
func TestScenario(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, r := newTest(t)
		seen := 0
		scenario.Run(t, scenarioExporter(m), func(point string) {
			seen++
			want, ok := scenarioWant[point]
			if !ok {
				t.Fatalf("no expectation for checkpoint %q", point)
			}
			ms := collect(t, r)
			for name, w := range want {
				if got := points(t, ms, name); !slices.Equal(got, w) {
					t.Errorf("at %q, %s:\ngot  %q\nwant %q", point, name, got, w)
				}
			}
			if point != scenario.End {
				return
			}
			h, ok := ms["bulwark.pipeline.duration"].Data.(metricdata.Histogram[float64])
			if !ok {
				t.Fatalf("bulwark.pipeline.duration: %T", ms["bulwark.pipeline.duration"].Data)
			}
			if len(h.DataPoints) != 1 {
				t.Fatalf("bulwark.pipeline.duration has %d points, want 1", len(h.DataPoints))
			}
			p := h.DataPoints[0]
			wantCounts := []uint64{0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0}
			if got := attrs(p.Attributes); got != "name=checkout,outcome=success" || p.Count != 2 ||
				!near(p.Sum, 0.28) || !slices.Equal(p.BucketCounts, wantCounts) {
				t.Errorf("bulwark.pipeline.duration: %s count %d sum %v buckets %v; want name=checkout,outcome=success, 2, 0.28, %v",
					got, p.Count, p.Sum, p.BucketCounts, wantCounts)
			}
		})
		if seen != len(scenarioWant) {
			t.Errorf("scenario passed %d checkpoints, want %d", seen, len(scenarioWant))
		}
	})
}

// scenarioExporter adapts m to the scenario.
func scenarioExporter(m *Metrics) scenario.Exporter {
	return scenario.Exporter{Observer: m, Watch: m.Watch, Pipeline: m.Pipeline}
}

func near(a, b float64) bool { d := a - b; return d < 1e-9 && d > -1e-9 }
