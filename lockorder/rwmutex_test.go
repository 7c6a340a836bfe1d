package lockorder_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/lockorder"
)

func TestRWMutexReadersShareWritersExclude(t *testing.T) {
	var rw lockorder.RWMutex
	rw.RLock()
	if !rw.TryRLock() {
		t.Fatal("second reader refused")
	}
	if rw.TryLock() {
		t.Fatal("writer admitted with readers in")
	}
	rw.RUnlock()
	rw.RUnlock()
	if !rw.TryLock() {
		t.Fatal("writer refused on a free lock")
	}
	if rw.TryRLock() || rw.TryLock() {
		t.Fatal("admitted alongside a writer")
	}
	rw.Unlock()
	mustPanic(t, "Unlock of a free RWMutex", rw.Unlock)
	mustPanic(t, "RUnlock of a free RWMutex", rw.RUnlock)
}

// A waiting writer holds back new readers; when it unlocks, the readers
// queued behind it get the lock together.
func TestRWMutexWriterPreference(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rw lockorder.RWMutex
		rw.RLock()
		var events []string
		var mu sync.Mutex
		log := func(s string) { mu.Lock(); events = append(events, s); mu.Unlock() }
		var wg sync.WaitGroup
		wg.Go(func() { rw.Lock(); log("writer"); time.Sleep(time.Second); rw.Unlock() })
		synctest.Wait()
		if rw.TryRLock() {
			t.Fatal("a new reader got past a waiting writer")
		}
		for range 3 {
			wg.Go(func() {
				rw.RLock()
				log("reader")
				time.Sleep(time.Second) // all three hold it at once
				rw.RUnlock()
			})
		}
		synctest.Wait()
		start := time.Now()
		rw.RUnlock()
		wg.Wait()
		if want := []string{"writer", "reader", "reader", "reader"}; !slices.Equal(events, want) {
			t.Fatalf("events %v, want %v", events, want)
		}
		if took := time.Since(start); took != 2*time.Second {
			t.Errorf("took %v, want 2s: the readers should overlap", took)
		}
	})
}

// A writer at the head of the queue that gives up lets the readers behind
// it in at once.
func TestRWMutexWriterGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rw lockorder.RWMutex
		rw.RLock()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- rw.LockContext(ctx) }()
		synctest.Wait()
		got := make(chan time.Duration, 1)
		start := time.Now()
		go func() {
			rw.RLock()
			d := time.Since(start)
			rw.RUnlock() // before telling: the lock must be free at the end
			got <- d
		}()
		if err := <-errc; err != context.DeadlineExceeded {
			t.Fatalf("LockContext = %v, want DeadlineExceeded", err)
		}
		if d := <-got; d != time.Second {
			t.Errorf("reader got in after %v, want 1s", d)
		}
		rw.RUnlock()
		if !rw.TryLock() {
			t.Fatal("lock not free at the end")
		}
		rw.Unlock()
	})
}

func TestRWMutexDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rw lockorder.RWMutex
		rw.Lock()
		if rw.TryRLockFor(time.Second) || rw.TryLockFor(time.Second) {
			t.Fatal("acquired a write-locked RWMutex")
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := rw.RLockContext(ctx); err != context.DeadlineExceeded {
			t.Fatalf("RLockContext = %v", err)
		}
		rw.Unlock()
		if err := rw.RLockContext(t.Context()); err != nil {
			t.Fatal(err)
		}
		if !rw.TryRLockFor(time.Second) {
			t.Fatal("second reader refused")
		}
		rw.RUnlock()
		rw.RUnlock()
		if !rw.TryLockFor(time.Second) {
			t.Fatal("writer refused on a free lock")
		}
		rw.Unlock()
		if rw.TryRLockFor(0) {
			rw.RUnlock()
		} else {
			t.Fatal("TryRLockFor(0) refused on a free lock")
		}
	})
}

func TestRWMutexStress(t *testing.T) {
	var rw lockorder.RWMutex
	m := map[int]int{}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 1000 {
				switch {
				case g%3 == 0:
					rw.Lock()
					m[i%10]++
					rw.Unlock()
				case i%7 == 0:
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%50)*time.Microsecond)
					if rw.RLockContext(ctx) == nil {
						_ = m[i%10]
						rw.RUnlock()
					}
					cancel()
				default:
					rw.RLock()
					_ = m[i%10]
					rw.RUnlock()
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for _, v := range m {
		total += v
	}
	if total != 2000 {
		t.Fatalf("writers counted %d, want 2000", total)
	}
	if !rw.TryLock() {
		t.Fatal("lock not free at the end")
	}
	rw.Unlock()
}
