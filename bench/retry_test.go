package bench

import (
	"context"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/eapache/go-resiliency/retrier"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
)

// BenchmarkRetrySuccess: a retry policy around a call that succeeds on the
// first attempt, each library with its default backoff and 3 attempts.
func BenchmarkRetrySuccess(b *testing.B) {
	benchBulwarkRetrySuccess(b)
	b.Run("backoff", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			v, err := backoff.Retry(ctx, plainInt, backoff.WithMaxTries(3))
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
	b.Run("failsafe", func(b *testing.B) {
		ex := failsafe.With[int](retrypolicy.NewBuilder[int]().WithMaxAttempts(3).Build())
		b.ReportAllocs()
		for b.Loop() {
			v, err := ex.Get(plainInt)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
	b.Run("resiliency", func(b *testing.B) {
		r := retrier.New(retrier.ExponentialBackoff(2, 10*time.Millisecond), nil)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			var v int
			err := r.RunCtx(ctx, func(ctx context.Context) error { var e error; v, e = opInt(ctx); return e })
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
}

func BenchmarkRetrySuccessStruct(b *testing.B) {
	benchBulwarkRetrySuccessStruct(b)
	b.Run("backoff", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			v, err := backoff.Retry(ctx, plainPayload, backoff.WithMaxTries(3))
			if err != nil {
				b.Fatal(err)
			}
			sinkPayload = v
		}
	})
	b.Run("failsafe", func(b *testing.B) {
		ex := failsafe.With[payload](retrypolicy.NewBuilder[payload]().WithMaxAttempts(3).Build())
		b.ReportAllocs()
		for b.Loop() {
			v, err := ex.Get(plainPayload)
			if err != nil {
				b.Fatal(err)
			}
			sinkPayload = v
		}
	})
}

func BenchmarkRetrySuccessParallel(b *testing.B) {
	benchBulwarkRetrySuccessParallel(b)
	b.Run("backoff", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := backoff.Retry(ctx, plainInt, backoff.WithMaxTries(3)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("failsafe", func(b *testing.B) {
		ex := failsafe.With[int](retrypolicy.NewBuilder[int]().WithMaxAttempts(3).Build())
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := ex.Get(plainInt); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
