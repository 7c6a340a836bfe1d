package bench

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark/adaptive"
)

// newAdaptive returns the default limiter (Gradient) with a floor of 64,
// so that the noise of a shared machine cannot shrink the limit to below
// the benchmark's concurrency and turn calls away.
func newAdaptive(b *testing.B) *adaptive.Limiter {
	l, err := adaptive.New(adaptive.Config{Name: "bench", MinLimit: 64})
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// Acquire a token, report the call done (a success).
func benchBulwarkAdaptiveAcquireRelease(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		l := newAdaptive(b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			t, err := l.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			t.Done(nil)
		}
	})
}

func benchBulwarkAdaptiveAcquireReleaseParallel(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		l := newAdaptive(b)
		ctx := context.Background()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				t, err := l.Acquire(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				t.Done(nil)
			}
		})
	})
}
