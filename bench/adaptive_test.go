package bench

import (
	"testing"

	"github.com/failsafe-go/failsafe-go/adaptivelimiter"
)

// BenchmarkAdaptiveAcquireRelease: take a permit from an adaptive
// concurrency limiter and report the call done, uncontended.
func BenchmarkAdaptiveAcquireRelease(b *testing.B) {
	benchBulwarkAdaptiveAcquireRelease(b)
	b.Run("failsafe", func(b *testing.B) {
		l := adaptivelimiter.NewWithDefaults[int]()
		b.ReportAllocs()
		for b.Loop() {
			p, ok := l.TryAcquirePermit()
			if !ok {
				b.Fatal("refused")
			}
			p.Record()
		}
	})
}

func BenchmarkAdaptiveAcquireReleaseParallel(b *testing.B) {
	benchBulwarkAdaptiveAcquireReleaseParallel(b)
	b.Run("failsafe", func(b *testing.B) {
		l := adaptivelimiter.NewWithDefaults[int]()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				p, ok := l.TryAcquirePermit()
				if !ok {
					b.Error("refused")
					return
				}
				p.Record()
			}
		})
	})
}
