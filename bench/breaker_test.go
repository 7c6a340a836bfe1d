package bench

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/afex/hystrix-go/hystrix"
	resbreaker "github.com/eapache/go-resiliency/breaker"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/sony/gobreaker/v2"
)

// Peer breakers, each configured as close to its library's defaults as its
// API allows. Executors are built once, outside the timed loop, which is the
// cheapest way to use failsafe-go.

func newGobreaker[T any]() *gobreaker.CircuitBreaker[T] {
	return gobreaker.NewCircuitBreaker[T](gobreaker.Settings{Name: "bench"})
}

// newGobreakerRolling uses gobreaker's time-based rolling window (10 s in
// 1 s buckets), the peer for bulwark's time-based window.
func newGobreakerRolling[T any]() *gobreaker.CircuitBreaker[T] {
	return gobreaker.NewCircuitBreaker[T](gobreaker.Settings{
		Name: "bench", Interval: 10 * time.Second, BucketPeriod: time.Second,
	})
}

func newFailsafeBreaker[T any]() (circuitbreaker.CircuitBreaker[T], failsafe.Executor[T]) {
	cb := circuitbreaker.NewWithDefaults[T]()
	return cb, failsafe.With[T](cb)
}

var hystrixOnce atomic.Bool

// hystrixCommand configures hystrix-go so that neither its concurrency
// limit nor its timeout interferes with a benchmark that always succeeds.
func hystrixCommand() string {
	const name = "bench"
	if hystrixOnce.CompareAndSwap(false, true) {
		hystrix.SetLogger(hystrix.NoopLogger{})
		hystrix.ConfigureCommand(name, hystrix.CommandConfig{
			Timeout:               10_000,
			MaxConcurrentRequests: 10_000,
		})
	}
	return name
}

func BenchmarkBreakerClosed(b *testing.B) {
	benchBulwarkBreakerClosed(b)
	b.Run("gobreaker", func(b *testing.B) {
		cb := newGobreaker[int]()
		b.ReportAllocs()
		for b.Loop() {
			v, err := cb.Execute(plainInt)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
	b.Run("failsafe", func(b *testing.B) {
		_, ex := newFailsafeBreaker[int]()
		b.ReportAllocs()
		for b.Loop() {
			v, err := ex.Get(plainInt)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
	b.Run("hystrix", func(b *testing.B) {
		name := hystrixCommand()
		b.ReportAllocs()
		for b.Loop() {
			var v int
			err := hystrix.Do(name, func() error { v = 42; return nil }, nil)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
	b.Run("resiliency", func(b *testing.B) {
		cb := resbreaker.New(5, 1, time.Minute)
		b.ReportAllocs()
		for b.Loop() {
			var v int
			err := cb.Run(func() error { var e error; v, e = plainInt(); return e })
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
}

// BenchmarkBreakerClosedStruct returns a 24-byte struct: bulwark has to box
// it in an interface, the generic peers do not.
func BenchmarkBreakerClosedStruct(b *testing.B) {
	benchBulwarkBreakerClosedStruct(b)
	b.Run("gobreaker", func(b *testing.B) {
		cb := newGobreaker[payload]()
		b.ReportAllocs()
		for b.Loop() {
			v, err := cb.Execute(plainPayload)
			if err != nil {
				b.Fatal(err)
			}
			sinkPayload = v
		}
	})
	b.Run("failsafe", func(b *testing.B) {
		_, ex := newFailsafeBreaker[payload]()
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

// BenchmarkBreakerClosedWindow compares time-based sliding windows.
func BenchmarkBreakerClosedWindow(b *testing.B) {
	benchBulwarkBreakerClosedWindow(b)
	b.Run("gobreaker-rolling", func(b *testing.B) {
		cb := newGobreakerRolling[int]()
		b.ReportAllocs()
		for b.Loop() {
			v, err := cb.Execute(plainInt)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
}

func BenchmarkBreakerClosedParallel(b *testing.B) {
	benchBulwarkBreakerClosedParallel(b)
	b.Run("gobreaker", func(b *testing.B) {
		cb := newGobreaker[int]()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := cb.Execute(plainInt); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("gobreaker-rolling", func(b *testing.B) {
		cb := newGobreakerRolling[int]()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := cb.Execute(plainInt); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("failsafe", func(b *testing.B) {
		_, ex := newFailsafeBreaker[int]()
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
	b.Run("hystrix", func(b *testing.B) {
		name := hystrixCommand()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := hystrix.Do(name, plainErr, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("resiliency", func(b *testing.B) {
		cb := resbreaker.New(5, 1, time.Minute)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := cb.Run(plainErr); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkBreakerOpen measures rejecting a call while the breaker is open.
// atomic-load is the floor: one atomic load and a branch.
func BenchmarkBreakerOpen(b *testing.B) {
	b.Run("atomic-load", func(b *testing.B) {
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
	})
	benchBulwarkBreakerOpen(b)
	b.Run("gobreaker", func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{
			Name: "bench", Timeout: time.Hour,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 1 },
		})
		cb.Execute(func() (int, error) { return 0, errBoom })
		if cb.State() != gobreaker.StateOpen {
			b.Fatal("gobreaker did not open")
		}
		b.ReportAllocs()
		for b.Loop() {
			_, sinkErr = cb.Execute(plainInt)
		}
		if sinkErr == nil {
			b.Fatal("gobreaker let a call through")
		}
	})
	b.Run("failsafe", func(b *testing.B) {
		cb, ex := newFailsafeBreaker[int]()
		cb.Open()
		b.ReportAllocs()
		for b.Loop() {
			_, sinkErr = ex.Get(plainInt)
		}
		if sinkErr == nil {
			b.Fatal("failsafe let a call through")
		}
	})
	b.Run("resiliency", func(b *testing.B) {
		cb := resbreaker.New(1, 1, time.Hour)
		cb.Run(plainFail)
		b.ReportAllocs()
		for b.Loop() {
			sinkErr = cb.Run(plainErr)
		}
		if sinkErr == nil {
			b.Fatal("go-resiliency let a call through")
		}
	})
}

func BenchmarkBreakerOpenParallel(b *testing.B) {
	benchBulwarkBreakerOpenParallel(b)
	b.Run("gobreaker", func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{
			Name: "bench", Timeout: time.Hour,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 1 },
		})
		cb.Execute(func() (int, error) { return 0, errBoom })
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := cb.Execute(plainInt); err == nil {
					b.Error("gobreaker let a call through")
					return
				}
			}
		})
	})
}
