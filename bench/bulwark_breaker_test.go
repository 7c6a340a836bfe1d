package bench

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
)

func newBreaker(b *testing.B, c breaker.Config) *breaker.Breaker {
	c.Name = "bench"
	br, err := breaker.New(c)
	if err != nil {
		b.Fatal(err)
	}
	return br
}

// newOpenBreaker returns a breaker with the default count window, opened
// the ordinary way (10 failures out of 10 calls) and staying open an hour.
func newOpenBreaker(b *testing.B) *breaker.Breaker {
	br := newBreaker(b, breaker.Config{WaitDuration: time.Hour})
	ctx := context.Background()
	for range breaker.DefaultMinimumCalls {
		bulwark.Get(ctx, br, opFail)
	}
	if st := br.State(); st != breaker.StateOpen {
		b.Fatalf("breaker is %v after %d failures, want open", st, breaker.DefaultMinimumCalls)
	}
	return br
}

func benchBulwarkBreakerClosed(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		br := newBreaker(b, breaker.Config{})
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			v, err := bulwark.Get(ctx, br, opInt)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
	// bulwark-permit is the two-step form (Allow, then Done), for middleware.
	b.Run("bulwark-permit", func(b *testing.B) {
		br := newBreaker(b, breaker.Config{})
		b.ReportAllocs()
		for b.Loop() {
			p, err := br.Allow()
			if err != nil {
				b.Fatal(err)
			}
			p.Done(nil)
		}
	})
}

func benchBulwarkBreakerClosedStruct(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		br := newBreaker(b, breaker.Config{})
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			v, err := bulwark.Get(ctx, br, opPayload)
			if err != nil {
				b.Fatal(err)
			}
			sinkPayload = v
		}
	})
}

func benchBulwarkBreakerClosedWindow(b *testing.B) {
	b.Run("bulwark-time", func(b *testing.B) {
		br := newBreaker(b, breaker.Config{Window: breaker.WindowTime, WindowSize: 10})
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			v, err := bulwark.Get(ctx, br, opInt)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
}

func benchBulwarkBreakerClosedParallel(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  breaker.Config
	}{
		{"bulwark", breaker.Config{}},
		{"bulwark-time", breaker.Config{Window: breaker.WindowTime, WindowSize: 10}},
	} {
		b.Run(c.name, func(b *testing.B) {
			br := newBreaker(b, c.cfg)
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := bulwark.Get(ctx, br, opInt); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func benchBulwarkBreakerOpen(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		br := newOpenBreaker(b)
		ctx := context.Background()
		b.ReportAllocs()
		// Rejections are counted in a local, as the atomic-load baseline counts
		// its hits: storing each error into a global would add a write
		// barrier that the baseline does not pay.
		rejected := 0
		for b.Loop() {
			if _, err := bulwark.Get(ctx, br, opInt); err != nil {
				rejected++
			}
		}
		sinkInt = rejected
		if rejected != b.N {
			b.Fatalf("bulwark let %d calls through", b.N-rejected)
		}
	})
	// bulwark-last-second rejects in the last stretch of the open wait (its
	// last second, or last half), where a rejection also reads the clock so
	// that a caller coming back at OpenError.Until is let through.
	b.Run("bulwark-last-second", func(b *testing.B) {
		br := newBreaker(b, breaker.Config{WaitDuration: 4 * time.Second})
		ctx := context.Background()
		for range breaker.DefaultMinimumCalls {
			bulwark.Get(ctx, br, opFail)
		}
		time.Sleep(3*time.Second + 50*time.Millisecond)
		b.ReportAllocs()
		rejected := 0
		for b.Loop() {
			if _, err := bulwark.Get(ctx, br, opInt); err != nil {
				rejected++
			}
		}
		sinkInt = rejected
		if rejected != b.N {
			b.Fatalf("bulwark let %d calls through (the benchmark ran past the open wait?)", b.N-rejected)
		}
	})
	b.Run("bulwark-permit", func(b *testing.B) {
		br := newOpenBreaker(b)
		b.ReportAllocs()
		rejected := 0
		for b.Loop() {
			if _, err := br.Allow(); err != nil {
				rejected++
			}
		}
		sinkInt = rejected
		if rejected != b.N {
			b.Fatalf("bulwark let %d calls through", b.N-rejected)
		}
	})
}

func benchBulwarkBreakerOpenParallel(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		br := newOpenBreaker(b)
		ctx := context.Background()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := bulwark.Get(ctx, br, opInt); err == nil {
					b.Error("bulwark let a call through")
					return
				}
			}
		})
	})
}
