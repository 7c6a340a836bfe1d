package bulkhead

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark"
)

// The uncontended path: a permit is free and nobody waits.

func BenchmarkAcquireRelease(b *testing.B) {
	bh, _ := New(Config{MaxConcurrent: 10})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if bh.Acquire(ctx) != nil {
			b.Fatal("full")
		}
		bh.Release()
	}
}

func BenchmarkTryAcquireRelease(b *testing.B) {
	bh, _ := New(Config{MaxConcurrent: 10})
	b.ReportAllocs()
	for b.Loop() {
		if !bh.TryAcquire() {
			b.Fatal("full")
		}
		bh.Release()
	}
}

func BenchmarkExecute(b *testing.B) {
	bh, _ := New(Config{MaxConcurrent: 10})
	ctx := context.Background()
	op := bulwark.OperationFunc(func(context.Context) (any, error) { return nil, nil })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bh.Execute(ctx, op); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChannelSemaphore is the baseline: a buffered channel used as a
// semaphore.
func BenchmarkChannelSemaphore(b *testing.B) {
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
}

// Every P at once, with room for all: the cost of sharing the state word.

func BenchmarkAcquireReleaseParallel(b *testing.B) {
	bh, _ := New(Config{MaxConcurrent: 1024})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if bh.Acquire(ctx) != nil {
				b.Error("full")
				return
			}
			bh.Release()
		}
	})
}

func BenchmarkChannelSemaphoreParallel(b *testing.B) {
	sem := make(chan struct{}, 1024)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sem <- struct{}{}
			<-sem
		}
	})
}

// A full bulkhead turning calls away.
func BenchmarkRejected(b *testing.B) {
	bh, _ := New(Config{MaxConcurrent: 1})
	ctx := context.Background()
	op := bulwark.OperationFunc(func(context.Context) (any, error) { return nil, nil })
	bh.TryAcquire()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bh.Execute(ctx, op); err == nil {
			b.Fatal("admitted")
		}
	}
}

// One permit shared by every P, with waiting: the queue and the hand-over.
// More goroutines than permits, so most acquisitions wait.

func BenchmarkContended(b *testing.B) {
	bh, _ := New(Config{MaxConcurrent: 1, MaxWait: WaitForever})
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if bh.Acquire(ctx) != nil {
				b.Error("full")
				return
			}
			bh.Release()
		}
	})
}

func BenchmarkChannelSemaphoreContended(b *testing.B) {
	sem := make(chan struct{}, 1)
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sem <- struct{}{}
			<-sem
		}
	})
}
