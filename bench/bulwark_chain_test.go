package bench

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/timeout"
)

func newTimeout(b *testing.B) *timeout.Timeout {
	t, err := timeout.New(timeout.Config{Name: "bench", Duration: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	return t
}

func bulwarkRetryBreaker(b *testing.B) bulwark.Policy {
	return bulwark.Chain(newRetry(b), newBreaker(b, breaker.Config{}))
}

func bulwarkRetryBreakerTimeout(b *testing.B) bulwark.Policy {
	return bulwark.Chain(newRetry(b), newBreaker(b, breaker.Config{}), newTimeout(b))
}

func benchBulwarkChainRetryBreaker(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		p := bulwarkRetryBreaker(b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			v, err := bulwark.Get(ctx, p, opInt)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
}

func benchBulwarkChainRetryBreakerStruct(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		p := bulwarkRetryBreaker(b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			v, err := bulwark.Get(ctx, p, opPayload)
			if err != nil {
				b.Fatal(err)
			}
			sinkPayload = v
		}
	})
}

func benchBulwarkChainRetryBreakerParallel(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		p := bulwarkRetryBreaker(b)
		ctx := context.Background()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := bulwark.Get(ctx, p, opInt); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func benchBulwarkChainRetryBreakerTimeout(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		p := bulwarkRetryBreakerTimeout(b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			v, err := bulwark.Get(ctx, p, opInt)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
}

func benchBulwarkChainRetryBreakerTimeoutStruct(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		p := bulwarkRetryBreakerTimeout(b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			v, err := bulwark.Get(ctx, p, opPayload)
			if err != nil {
				b.Fatal(err)
			}
			sinkPayload = v
		}
	})
}

func benchBulwarkTimeout(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		t := newTimeout(b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			v, err := bulwark.Get(ctx, t, opInt)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
}
