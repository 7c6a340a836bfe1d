package breaker

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
)

var (
	sinkInt  int
	sinkErr  error
	errBench = errors.New("bench: boom")
)

func okInt(context.Context) (int, error) { return 42, nil }

func newBench(b *testing.B, c Config) *Breaker {
	b.Helper()
	br, err := New(c)
	if err != nil {
		b.Fatal(err)
	}
	return br
}

// warm fills the count window with successes, so that it is clean.
func warm(b *testing.B, br *Breaker) {
	b.Helper()
	for range 2 * DefaultCountWindow {
		if _, err := bulwark.Get(context.Background(), br, okInt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClosedSuccess is the closed breaker's success path through
// bulwark.Get with the default count window.
func BenchmarkClosedSuccess(b *testing.B) {
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		br := newBench(b, Config{})
		warm(b, br)
		b.ReportAllocs()
		for b.Loop() {
			v, err := bulwark.Get(ctx, br, okInt)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
	b.Run("parallel", func(b *testing.B) {
		br := newBench(b, Config{})
		warm(b, br)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := bulwark.Get(ctx, br, okInt); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("consecutive", func(b *testing.B) {
		br := newBench(b, Config{Window: WindowConsecutive})
		b.ReportAllocs()
		for b.Loop() {
			v, err := bulwark.Get(ctx, br, okInt)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
	b.Run("slow-detection", func(b *testing.B) {
		br := newBench(b, Config{SlowCallDuration: time.Second})
		warm(b, br)
		b.ReportAllocs()
		for b.Loop() {
			v, err := bulwark.Get(ctx, br, okInt)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
}

// BenchmarkTimeWindowSuccess is the success path with a time-based window:
// a clock read and the window's lock per call.
func BenchmarkTimeWindowSuccess(b *testing.B) {
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		br := newBench(b, Config{Window: WindowTime, WindowSize: 10})
		b.ReportAllocs()
		for b.Loop() {
			v, err := bulwark.Get(ctx, br, okInt)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
	b.Run("parallel", func(b *testing.B) {
		br := newBench(b, Config{Window: WindowTime, WindowSize: 10})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := bulwark.Get(ctx, br, okInt); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func openBench(b *testing.B) *Breaker {
	b.Helper()
	br := newBench(b, Config{Window: WindowConsecutive, WindowSize: 1, WaitDuration: time.Hour})
	br.Allow()
	p, _ := br.Allow()
	p.Failure()
	if br.State() != StateOpen {
		b.Fatal("breaker did not open")
	}
	return br
}

// BenchmarkOpenReject is the open breaker rejecting a call, through Allow
// and through bulwark.Get. Compare with BenchmarkAtomicLoad.
func BenchmarkOpenReject(b *testing.B) {
	b.Run("allow", func(b *testing.B) {
		br := openBench(b)
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			if _, err := br.Allow(); err != nil {
				n++
			}
		}
		sinkInt = n
		if n == 0 {
			b.Fatal("let a call through")
		}
	})
	b.Run("get", func(b *testing.B) {
		br := openBench(b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_, sinkErr = bulwark.Get(ctx, br, okInt)
		}
		if sinkErr == nil {
			b.Fatal("let a call through")
		}
	})
	b.Run("allow-parallel", func(b *testing.B) {
		br := openBench(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := br.Allow(); err == nil {
					b.Error("let a call through")
					return
				}
			}
		})
	})
}

// BenchmarkAtomicLoad is the floor for BenchmarkOpenReject: one atomic load
// and a branch.
func BenchmarkAtomicLoad(b *testing.B) {
	var state atomic.Int32
	state.Store(1)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if state.Load() == 1 {
			n++
		}
	}
	sinkInt = n
}

// BenchmarkAllowDone is the two-step form on the closed success path.
func BenchmarkAllowDone(b *testing.B) {
	br := newBench(b, Config{})
	warm(b, br)
	b.ReportAllocs()
	for b.Loop() {
		p, err := br.Allow()
		if err != nil {
			b.Fatal(err)
		}
		p.Done(nil)
	}
}
