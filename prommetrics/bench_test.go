package prommetrics

import (
	"testing"

	"github.com/bulwark-go/bulwark"
)

// BenchmarkObserveCallSuccess is the cost Metrics adds to a breaker's closed
// success path.
func BenchmarkObserveCallSuccess(b *testing.B) {
	m, _ := newTest(b)
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		m.Observe(bulwark.Event{Kind: bulwark.KindCall, Policy: "breaker", Name: n, Outcome: bulwark.OutcomeSuccess})
	}
	e := bulwark.Event{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeSuccess}
	m.Observe(e)
	b.ReportAllocs()
	for b.Loop() {
		m.Observe(e)
	}
}

func BenchmarkObserveCallSuccessParallel(b *testing.B) {
	m, _ := newTest(b)
	e := bulwark.Event{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeSuccess}
	m.Observe(e)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe(e)
		}
	})
}

func BenchmarkObserveWait(b *testing.B) {
	m, _ := newTest(b)
	e := bulwark.Event{Kind: bulwark.KindWait, Policy: "ratelimit", Name: "api", Delay: 1500000}
	m.Observe(e)
	b.ReportAllocs()
	for b.Loop() {
		m.Observe(e)
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	m, _ := newTest(t)
	events := []bulwark.Event{
		{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeSuccess},
		{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeFailure, Slow: true},
		{Kind: bulwark.KindRejected, Policy: "bulkhead", Name: "pool"},
		{Kind: bulwark.KindWait, Policy: "ratelimit", Name: "api", Delay: 1500000},
		{Kind: bulwark.KindCall, Policy: "timeout", Name: "api", Outcome: bulwark.OutcomeSuccess},
	}
	for _, e := range events {
		m.Observe(e)
		if n := testing.AllocsPerRun(100, func() { m.Observe(e) }); n != 0 {
			t.Errorf("Observe(%v %s): %v allocs, want 0", e.Kind, e.Policy, n)
		}
	}
}
