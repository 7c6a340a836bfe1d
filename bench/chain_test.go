package bench

import (
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/failsafe-go/failsafe-go/timeout"
)

// The composition benchmarks: retry outside a breaker, and retry outside a
// breaker outside a per-attempt timeout, around a call that succeeds.
// failsafe-go's executor is built once (its cheapest use); bulwark's chain
// is built once too.

func failsafeRetryBreaker[T any]() failsafe.Executor[T] {
	return failsafe.With[T](
		retrypolicy.NewBuilder[T]().WithMaxAttempts(3).Build(),
		circuitbreaker.NewWithDefaults[T](),
	)
}

func failsafeRetryBreakerTimeout[T any]() failsafe.Executor[T] {
	return failsafe.With[T](
		retrypolicy.NewBuilder[T]().WithMaxAttempts(3).Build(),
		circuitbreaker.NewWithDefaults[T](),
		timeout.New[T](time.Second),
	)
}

func BenchmarkChainRetryBreaker(b *testing.B) {
	benchBulwarkChainRetryBreaker(b)
	b.Run("failsafe", func(b *testing.B) {
		ex := failsafeRetryBreaker[int]()
		b.ReportAllocs()
		for b.Loop() {
			v, err := ex.Get(plainInt)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
}

func BenchmarkChainRetryBreakerStruct(b *testing.B) {
	benchBulwarkChainRetryBreakerStruct(b)
	b.Run("failsafe", func(b *testing.B) {
		ex := failsafeRetryBreaker[payload]()
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

func BenchmarkChainRetryBreakerParallel(b *testing.B) {
	benchBulwarkChainRetryBreakerParallel(b)
	b.Run("failsafe", func(b *testing.B) {
		ex := failsafeRetryBreaker[int]()
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

func BenchmarkChainRetryBreakerTimeout(b *testing.B) {
	benchBulwarkChainRetryBreakerTimeout(b)
	b.Run("failsafe", func(b *testing.B) {
		ex := failsafeRetryBreakerTimeout[int]()
		b.ReportAllocs()
		for b.Loop() {
			v, err := ex.Get(plainInt)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
}

func BenchmarkChainRetryBreakerTimeoutStruct(b *testing.B) {
	benchBulwarkChainRetryBreakerTimeoutStruct(b)
	b.Run("failsafe", func(b *testing.B) {
		ex := failsafeRetryBreakerTimeout[payload]()
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
