package bench

import (
	"testing"

	"github.com/bulwark-go/bulwark/ratelimit"
)

func newRateLimiter(b *testing.B) *ratelimit.Limiter {
	l, err := ratelimit.New(ratelimit.Config{Name: "bench", Rate: highRate, Burst: highBurst})
	if err != nil {
		b.Fatal(err)
	}
	return l
}

func benchBulwarkRateLimitAllow(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		l := newRateLimiter(b)
		b.ReportAllocs()
		for b.Loop() {
			if !l.Allow() {
				b.Fatal("refused")
			}
		}
	})
}

func benchBulwarkRateLimitAllowParallel(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		l := newRateLimiter(b)
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
}
