package bench

import (
	"testing"
	"time"

	"github.com/eapache/go-resiliency/semaphore"
	"github.com/failsafe-go/failsafe-go/bulkhead"
)

// BenchmarkBulkheadAcquireRelease: take a permit and give it back, with no
// other caller in the way (capacity 10).
func BenchmarkBulkheadAcquireRelease(b *testing.B) {
	b.Run("chan-semaphore", func(b *testing.B) {
		sem := make(chan struct{}, 10)
		b.ReportAllocs()
		for b.Loop() {
			select {
			case sem <- struct{}{}:
			default:
				b.Fatal("full")
			}
			<-sem
		}
	})
	benchBulwarkBulkheadAcquireRelease(b)
	b.Run("failsafe", func(b *testing.B) {
		bh := bulkhead.New[int](10)
		b.ReportAllocs()
		for b.Loop() {
			if !bh.TryAcquirePermit() {
				b.Fatal("full")
			}
			bh.ReleasePermit()
		}
	})
	b.Run("resiliency", func(b *testing.B) {
		sem := semaphore.New(10, time.Second)
		b.ReportAllocs()
		for b.Loop() {
			if err := sem.Acquire(); err != nil {
				b.Fatal(err)
			}
			sem.Release()
		}
	})
}

// BenchmarkBulkheadAcquireReleaseParallel: the same from every P, capacity
// large enough that nobody is turned away.
func BenchmarkBulkheadAcquireReleaseParallel(b *testing.B) {
	b.Run("chan-semaphore", func(b *testing.B) {
		sem := make(chan struct{}, 1024)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				sem <- struct{}{}
				<-sem
			}
		})
	})
	benchBulwarkBulkheadAcquireReleaseParallel(b)
	b.Run("failsafe", func(b *testing.B) {
		bh := bulkhead.New[int](1024)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !bh.TryAcquirePermit() {
					b.Error("full")
					return
				}
				bh.ReleasePermit()
			}
		})
	})
	b.Run("resiliency", func(b *testing.B) {
		sem := semaphore.New(1024, time.Second)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := sem.Acquire(); err != nil {
					b.Error(err)
					return
				}
				sem.Release()
			}
		})
	})
}
