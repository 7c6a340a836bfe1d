package lockorder_test

import (
	"log/slog"
	"sync"
	"testing"

	"github.com/bulwark-go/bulwark/lockorder"
)

// Uncontended Lock+Unlock, against sync.Mutex. With the checker off the
// only extra work is one atomic load per call.
func BenchmarkMutex(b *testing.B) {
	b.Run("lockorder", func(b *testing.B) {
		var mu lockorder.Mutex
		b.ReportAllocs()
		for b.Loop() {
			mu.Lock()
			mu.Unlock()
		}
	})
	b.Run("sync", func(b *testing.B) {
		var mu sync.Mutex
		b.ReportAllocs()
		for b.Loop() {
			mu.Lock()
			mu.Unlock()
		}
	})
}

func BenchmarkRWMutex(b *testing.B) {
	b.Run("lockorder/write", func(b *testing.B) {
		var mu lockorder.RWMutex
		b.ReportAllocs()
		for b.Loop() {
			mu.Lock()
			mu.Unlock()
		}
	})
	b.Run("sync/write", func(b *testing.B) {
		var mu sync.RWMutex
		b.ReportAllocs()
		for b.Loop() {
			mu.Lock()
			mu.Unlock()
		}
	})
	b.Run("lockorder/read", func(b *testing.B) {
		var mu lockorder.RWMutex
		b.ReportAllocs()
		for b.Loop() {
			mu.RLock()
			mu.RUnlock()
		}
	})
	b.Run("sync/read", func(b *testing.B) {
		var mu sync.RWMutex
		b.ReportAllocs()
		for b.Loop() {
			mu.RLock()
			mu.RUnlock()
		}
	})
}

// Contended: every goroutine locks the same mutex.
func BenchmarkMutexContended(b *testing.B) {
	b.Run("lockorder", func(b *testing.B) {
		var mu lockorder.Mutex
		n := 0
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mu.Lock()
				n++
				mu.Unlock()
			}
		})
	})
	b.Run("sync", func(b *testing.B) {
		var mu sync.Mutex
		n := 0
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mu.Lock()
				n++
				mu.Unlock()
			}
		})
	})
}

// Two mutexes in the global order, against locking them by hand.
func BenchmarkLockAll(b *testing.B) {
	var x, y lockorder.Mutex
	b.Run("LockAll", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			lockorder.LockAll(&y, &x)
			lockorder.UnlockAll(&y, &x)
		}
	})
	b.Run("Lock", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			lockorder.Lock(&y, &x)()
		}
	})
	b.Run("by hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			x.Lock()
			y.Lock()
			y.Unlock()
			x.Unlock()
		}
	})
}

// The cost of checking: a stack capture per lock.
func BenchmarkMutexChecked(b *testing.B) {
	if err := lockorder.EnableChecker(lockorder.CheckerConfig{Logger: slog.New(slog.DiscardHandler)}); err != nil {
		b.Fatal(err)
	}
	defer lockorder.DisableChecker()
	var mu lockorder.Mutex
	b.ReportAllocs()
	for b.Loop() {
		mu.Lock()
		mu.Unlock()
	}
}
