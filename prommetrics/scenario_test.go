package prommetrics

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bulwark-go/bulwark/internal/scenario"
)

// scenarioWant holds, for each checkpoint of the scenario, the exact samples
// of the families it names (every sample of those families).
var scenarioWant = map[string]string{
	scenario.BreakerOpen: `
bulwark_breaker_calls_total{name="db",outcome="failure"} 4
bulwark_breaker_calls_total{name="db",outcome="ignored"} 0
bulwark_breaker_calls_total{name="db",outcome="rejected"} 1
bulwark_breaker_calls_total{name="db",outcome="success"} 0
bulwark_breaker_failure_ratio{name="db"} 1
bulwark_breaker_slow_call_ratio{name="db"} 0
bulwark_breaker_state{name="db",state="closed"} 0
bulwark_breaker_state{name="db",state="disabled"} 0
bulwark_breaker_state{name="db",state="forced-closed"} 0
bulwark_breaker_state{name="db",state="forced-open"} 0
bulwark_breaker_state{name="db",state="half-open"} 0
bulwark_breaker_state{name="db",state="metrics-only"} 0
bulwark_breaker_state{name="db",state="open"} 1
bulwark_breaker_transitions_total{from="closed",name="db",to="open"} 1
bulwark_retry_retries_total{name="api"} 0
bulwark_bulkhead_in_use{name="pool"} 0
bulwark_recovery_panics_total{name="worker"} 0
`,
	scenario.BreakerClosed: `
bulwark_breaker_calls_total{name="db",outcome="failure"} 4
bulwark_breaker_calls_total{name="db",outcome="ignored"} 0
bulwark_breaker_calls_total{name="db",outcome="rejected"} 1
bulwark_breaker_calls_total{name="db",outcome="success"} 1
bulwark_breaker_failure_ratio{name="db"} 0
bulwark_breaker_state{name="db",state="closed"} 1
bulwark_breaker_state{name="db",state="disabled"} 0
bulwark_breaker_state{name="db",state="forced-closed"} 0
bulwark_breaker_state{name="db",state="forced-open"} 0
bulwark_breaker_state{name="db",state="half-open"} 0
bulwark_breaker_state{name="db",state="metrics-only"} 0
bulwark_breaker_state{name="db",state="open"} 0
bulwark_breaker_transitions_total{from="closed",name="db",to="open"} 1
bulwark_breaker_transitions_total{from="half-open",name="db",to="closed"} 1
bulwark_breaker_transitions_total{from="open",name="db",to="half-open"} 1
`,
	scenario.Retried: `
bulwark_retry_attempts_total{name="api"} 6
bulwark_retry_budget_rejections_total{name="api"} 0
bulwark_retry_calls_total{name="api"} 2
bulwark_retry_exhausted_total{name="api"} 1
bulwark_retry_retries_total{name="api"} 4
`,
	scenario.BulkheadFull: `
bulwark_bulkhead_calls_total{name="pool",outcome="failure"} 0
bulwark_bulkhead_calls_total{name="pool",outcome="ignored"} 0
bulwark_bulkhead_calls_total{name="pool",outcome="success"} 0
bulwark_bulkhead_capacity{name="pool"} 2
bulwark_bulkhead_in_use{name="pool"} 2
bulwark_bulkhead_rejected_total{name="pool"} 1
bulwark_bulkhead_waiting{name="pool"} 0
`,
	scenario.Recovered: `
bulwark_recovery_panics_total{name="worker"} 1
`,
	scenario.End: `
bulwark_breaker_calls_total{name="db",outcome="failure"} 4
bulwark_breaker_calls_total{name="db",outcome="ignored"} 0
bulwark_breaker_calls_total{name="db",outcome="rejected"} 1
bulwark_breaker_calls_total{name="db",outcome="success"} 3
bulwark_breaker_slow_calls_total{name="db",outcome="failure"} 0
bulwark_breaker_slow_calls_total{name="db",outcome="ignored"} 0
bulwark_breaker_slow_calls_total{name="db",outcome="success"} 0
bulwark_bulkhead_calls_total{name="pool",outcome="failure"} 0
bulwark_bulkhead_calls_total{name="pool",outcome="ignored"} 0
bulwark_bulkhead_calls_total{name="pool",outcome="success"} 2
bulwark_bulkhead_in_use{name="pool"} 0
bulwark_bulkhead_rejected_total{name="pool"} 1
bulwark_retry_attempts_total{name="api"} 8
bulwark_retry_calls_total{name="api"} 4
bulwark_retry_retries_total{name="api"} 4
` + zeroHistogram("bulwark_pipeline_duration_seconds", `name="checkout",outcome="failure"`, DefaultDurationBuckets) +
		zeroHistogram("bulwark_pipeline_duration_seconds", `name="checkout",outcome="ignored"`, DefaultDurationBuckets) + `
bulwark_pipeline_duration_seconds_bucket{name="checkout",outcome="success",le="0.001"} 0
bulwark_pipeline_duration_seconds_bucket{name="checkout",outcome="success",le="0.0025"} 0
bulwark_pipeline_duration_seconds_bucket{name="checkout",outcome="success",le="0.005"} 0
bulwark_pipeline_duration_seconds_bucket{name="checkout",outcome="success",le="0.01"} 0
bulwark_pipeline_duration_seconds_bucket{name="checkout",outcome="success",le="0.025"} 0
bulwark_pipeline_duration_seconds_bucket{name="checkout",outcome="success",le="0.05"} 1
bulwark_pipeline_duration_seconds_bucket{name="checkout",outcome="success",le="0.1"} 1
bulwark_pipeline_duration_seconds_bucket{name="checkout",outcome="success",le="0.25"} 2
bulwark_pipeline_duration_seconds_bucket{name="checkout",outcome="success",le="0.5"} 2
bulwark_pipeline_duration_seconds_bucket{name="checkout",outcome="success",le="1"} 2
bulwark_pipeline_duration_seconds_bucket{name="checkout",outcome="success",le="2.5"} 2
bulwark_pipeline_duration_seconds_bucket{name="checkout",outcome="success",le="5"} 2
bulwark_pipeline_duration_seconds_bucket{name="checkout",outcome="success",le="10"} 2
bulwark_pipeline_duration_seconds_bucket{name="checkout",outcome="success",le="+Inf"} 2
bulwark_pipeline_duration_seconds_sum{name="checkout",outcome="success"} 0.28
bulwark_pipeline_duration_seconds_count{name="checkout",outcome="success"} 2
`,
}

// TestScenario plays the scripted scenario through the real policies and
// checks the exact figures scraped at each checkpoint.
func TestScenario(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, reg := newTest(t)
		seen := 0
		scenario.Run(t, scenario.Exporter{Observer: m, Watch: m.Watch, Pipeline: m.Pipeline}, func(point string) {
			seen++
			want, ok := scenarioWant[point]
			if !ok {
				t.Fatalf("no expectation for checkpoint %q", point)
			}
			text, names := exposition(t, reg, want)
			if err := testutil.GatherAndCompare(reg, strings.NewReader(text), names...); err != nil {
				t.Errorf("at %q: %v", point, err)
			}
		})
		if seen != len(scenarioWant) {
			t.Errorf("scenario passed %d checkpoints, want %d", seen, len(scenarioWant))
		}
	})
}

// exposition turns sample lines into the text format, with the HELP and
// TYPE lines of each family as reg reports them, and returns the family
// names. Samples of one family must be adjacent.
func exposition(t *testing.T, reg *prometheus.Registry, samples string) (string, []string) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	head := map[string]string{}
	for _, mf := range mfs {
		head[mf.GetName()] = "# HELP " + mf.GetName() + " " + mf.GetHelp() + "\n# TYPE " + mf.GetName() + " " +
			strings.ToLower(mf.GetType().String()) + "\n"
	}
	var b strings.Builder
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(samples), "\n") {
		if line == "" {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		if _, ok := head[name]; !ok {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(name, suffix); ok && head[base] != "" {
					name = base
				}
			}
		}
		if h, ok := head[name]; !ok {
			t.Fatalf("%s is not gathered", name)
		} else if len(names) == 0 || names[len(names)-1] != name {
			names = append(names, name)
			b.WriteString(h)
		}
		b.WriteString(line + "\n")
	}
	return b.String(), names
}

// zeroHistogram returns the samples of an empty histogram series.
func zeroHistogram(name, labels string, buckets []float64) string {
	var b strings.Builder
	b.WriteString("\n")
	for _, le := range buckets {
		fmt.Fprintf(&b, "%s_bucket{%s,le=\"%v\"} 0\n", name, labels, le)
	}
	fmt.Fprintf(&b, "%s_bucket{%s,le=\"+Inf\"} 0\n%s_sum{%s} 0\n%s_count{%s} 0\n", name, labels, name, labels, name, labels)
	return b.String()
}
