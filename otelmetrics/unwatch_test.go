package otelmetrics

import (
	"testing"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/bulwark-go/bulwark/breaker"
)

// A breaker made again under the name of one that was unwatched can be
// watched, and the state is read from the new one.
func TestUnwatchThenWatchTheRemade(t *testing.T) {
	m, r := newTest(t)
	old, _ := breaker.New(breaker.Config{Name: "db"})
	remade, _ := breaker.New(breaker.Config{Name: "db"})
	if err := m.Watch(old); err != nil {
		t.Fatal(err)
	}
	if err := m.Watch(remade); err == nil {
		t.Fatal("Watch of a second breaker named db succeeded while the first is watched")
	}
	m.Unwatch(old)
	if _, ok := collect(t, r)["bulwark.breaker.state"]; ok {
		t.Error("bulwark.breaker.state still reported with no breaker watched")
	}
	if err := m.Watch(remade); err != nil {
		t.Fatalf("Watch after Unwatch: %v", err)
	}
	remade.ForceOpen()
	st, ok := collect(t, r)["bulwark.breaker.state"].Data.(metricdata.Gauge[int64])
	if !ok {
		t.Fatal("bulwark.breaker.state not reported")
	}
	open := 0
	for _, dp := range st.DataPoints {
		if s, _ := dp.Attributes.Value("state"); s.AsString() == "forced-open" {
			open += int(dp.Value)
		}
	}
	if open != 1 {
		t.Errorf("forced-open = %d, want 1 (read from the re-made breaker)", open)
	}
}
