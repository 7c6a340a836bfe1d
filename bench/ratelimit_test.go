package bench

import (
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go/ratelimiter"
	uberrl "go.uber.org/ratelimit"
	"golang.org/x/time/rate"
)

// The rate limiters are set so high that every call is admitted: the
// benchmarks measure the bookkeeping of an admitted call, not waiting.
const (
	highRate  = 1e9 // per second, bulwark's ratelimit.MaxRate
	highBurst = 1 << 30
)

// BenchmarkRateLimitAllow: a non-blocking "may I go now?" that says yes.
// uber-go/ratelimit has no non-blocking call: its Take (which blocks until
// the next slot) is measured at 1e9 per second, so it never actually waits.
func BenchmarkRateLimitAllow(b *testing.B) {
	benchBulwarkRateLimitAllow(b)
	b.Run("xrate", func(b *testing.B) {
		l := rate.NewLimiter(rate.Limit(highRate), highBurst)
		b.ReportAllocs()
		for b.Loop() {
			if !l.Allow() {
				b.Fatal("refused")
			}
		}
	})
	b.Run("failsafe", func(b *testing.B) {
		l := ratelimiter.NewBursty[int](highBurst, time.Second)
		b.ReportAllocs()
		for b.Loop() {
			if !l.TryAcquirePermit() {
				b.Fatal("refused")
			}
		}
	})
	b.Run("uber-take", func(b *testing.B) {
		l := uberrl.New(1e9, uberrl.WithoutSlack)
		b.ReportAllocs()
		for b.Loop() {
			l.Take()
		}
	})
}

func BenchmarkRateLimitAllowParallel(b *testing.B) {
	benchBulwarkRateLimitAllowParallel(b)
	b.Run("xrate", func(b *testing.B) {
		l := rate.NewLimiter(rate.Limit(highRate), highBurst)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !l.Allow() {
					b.Error("refused")
					return
				}
			}
		})
	})
	b.Run("failsafe", func(b *testing.B) {
		l := ratelimiter.NewBursty[int](highBurst, time.Second)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !l.TryAcquirePermit() {
					b.Error("refused")
					return
				}
			}
		})
	})
	b.Run("uber-take", func(b *testing.B) {
		l := uberrl.New(1e9, uberrl.WithoutSlack)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Take()
			}
		})
	})
}
