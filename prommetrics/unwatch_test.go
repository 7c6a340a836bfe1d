package prommetrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bulwark-go/bulwark/breaker"
)

// A breaker made again under the name of one that was unwatched can be
// watched, and the state series read the new one.
func TestUnwatchThenWatchTheRemade(t *testing.T) {
	m, reg := newTest(t)
	old, _ := breaker.New(breaker.Config{Name: "db"})
	remade, _ := breaker.New(breaker.Config{Name: "db"})
	if err := m.Watch(old); err != nil {
		t.Fatal(err)
	}
	m.Unwatch(remade) // not watched: nothing happens
	if err := m.Watch(remade); err == nil {
		t.Fatal("Watch of a second breaker named db succeeded while the first is watched")
	}
	m.Unwatch(old)
	if err := m.Watch(remade); err != nil {
		t.Fatalf("Watch after Unwatch: %v", err)
	}
	remade.ForceOpen()
	want := `
# HELP bulwark_breaker_state 1 for the state the breaker is in, 0 for the others.
# TYPE bulwark_breaker_state gauge
bulwark_breaker_state{name="db",state="closed"} 0
bulwark_breaker_state{name="db",state="disabled"} 0
bulwark_breaker_state{name="db",state="forced-closed"} 0
bulwark_breaker_state{name="db",state="forced-open"} 1
bulwark_breaker_state{name="db",state="half-open"} 0
bulwark_breaker_state{name="db",state="metrics-only"} 0
bulwark_breaker_state{name="db",state="open"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "bulwark_breaker_state"); err != nil {
		t.Error(err)
	}
}
