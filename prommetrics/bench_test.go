package prommetrics

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
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

// BenchmarkBreakerClosedSuccess measures what Metrics adds to a breaker's
// closed success path: "noop-observer" is the cost of the breaker reporting
// at all, "prommetrics" adds Observe.
func BenchmarkBreakerClosedSuccess(b *testing.B) {
	op := bulwark.OperationFunc(func(ctx context.Context) (any, error) { return nil, nil })
	ctx := context.Background()
	for _, name := range []string{"bare", "noop-observer", "prommetrics"} {
		b.Run(name, func(b *testing.B) {
			cfg := breaker.Config{Name: "db"}
			var m *Metrics
			switch name {
			case "noop-observer":
				cfg.Observer = bulwark.ObserverFunc(func(bulwark.Event) {})
			case "prommetrics":
				m, _ = newTest(b)
				cfg.Observer = m
			}
			br, err := breaker.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			if m != nil {
				if err := m.Watch(br); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := br.Execute(ctx, op); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
