package lockorder_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/lockorder"
)

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	f()
}

func TestMutexExcludes(t *testing.T) {
	var mu lockorder.Mutex
	n := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 2000 {
				mu.Lock()
				n++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if n != 16000 {
		t.Fatalf("n = %d, want 16000", n)
	}
}

func TestMutexTryLock(t *testing.T) {
	var mu lockorder.Mutex
	if !mu.TryLock() {
		t.Fatal("TryLock failed on a free mutex")
	}
	if mu.TryLock() {
		t.Fatal("TryLock succeeded on a locked mutex")
	}
	if mu.TryLockFor(0) || mu.TryLockFor(-time.Second) {
		t.Fatal("TryLockFor(<=0) succeeded on a locked mutex")
	}
	mu.Unlock()
	if !mu.TryLockFor(0) {
		t.Fatal("TryLockFor(0) failed on a free mutex")
	}
	mu.Unlock()
	mustPanic(t, "Unlock of an unlocked Mutex", mu.Unlock)
}

func TestMutexLockContextGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu lockorder.Mutex
		mu.Lock()
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := mu.LockContext(ctx); err != context.DeadlineExceeded {
			t.Fatalf("LockContext = %v, want DeadlineExceeded", err)
		}
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("waited %v, want 1s", waited)
		}
		mu.Unlock()
		// The waiter that gave up left no trace: the mutex is free.
		if !mu.TryLock() {
			t.Fatal("mutex not free after the only waiter gave up")
		}
		mu.Unlock()
	})
}

func TestMutexLockContextDoneAlready(t *testing.T) {
	var mu lockorder.Mutex
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := mu.LockContext(ctx); err != context.Canceled {
		t.Fatalf("LockContext = %v, want Canceled", err)
	}
	if !mu.TryLock() {
		t.Fatal("LockContext with a done context took the lock")
	}
	mu.Unlock()
	if err := mu.LockContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Unlock()
}

func TestMutexTryLockFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu lockorder.Mutex
		mu.Lock()
		if mu.TryLockFor(time.Second) {
			t.Fatal("TryLockFor succeeded while the mutex was held")
		}
		go func() {
			time.Sleep(500 * time.Millisecond)
			mu.Unlock()
		}()
		start := time.Now()
		if !mu.TryLockFor(time.Second) {
			t.Fatal("TryLockFor failed although the mutex was released in time")
		}
		if waited := time.Since(start); waited != 500*time.Millisecond {
			t.Errorf("waited %v, want 500ms", waited)
		}
		mu.Unlock()
	})
}

// Waiters get the mutex in the order they came, and a waiter is durably
// blocked (synctest.Wait returns), which shows it sleeps on a channel.
func TestMutexFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu lockorder.Mutex
		mu.Lock()
		var order []int
		var wg sync.WaitGroup
		for i := range 5 {
			wg.Go(func() {
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
			})
			synctest.Wait() // i is queued before i+1 starts
		}
		mu.Unlock()
		wg.Wait()
		for i, got := range order {
			if got != i {
				t.Fatalf("lock order %v, want 0 1 2 3 4", order)
			}
		}
	})
}

// A waiter that gives up in the middle of the queue keeps the others'
// places.
func TestMutexCancelInQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu lockorder.Mutex
		mu.Lock()
		var got []string
		var wg sync.WaitGroup
		wg.Go(func() { mu.Lock(); got = append(got, "first"); mu.Unlock() })
		synctest.Wait()
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { errc <- mu.LockContext(ctx) }()
		synctest.Wait()
		wg.Go(func() { mu.Lock(); got = append(got, "third"); mu.Unlock() })
		synctest.Wait()
		cancel()
		if err := <-errc; err != context.Canceled {
			t.Fatalf("LockContext = %v, want Canceled", err)
		}
		mu.Unlock()
		wg.Wait()
		if len(got) != 2 || got[0] != "first" || got[1] != "third" {
			t.Fatalf("got %v, want [first third]", got)
		}
	})
}

// Many goroutines locking with and without deadlines, some giving up: the
// mutex still excludes and ends free.
func TestMutexStressWithDeadlines(t *testing.T) {
	var mu lockorder.Mutex
	inside := 0
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 500 {
				var ok bool
				switch r.IntN(3) {
				case 0:
					mu.Lock()
					ok = true
				case 1:
					ok = mu.TryLockFor(time.Duration(r.IntN(50)) * time.Microsecond)
				case 2:
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(50))*time.Microsecond)
					ok = mu.LockContext(ctx) == nil
					cancel()
				}
				if !ok {
					continue
				}
				inside++
				if inside != 1 {
					t.Errorf("%d goroutines inside", inside)
				}
				inside--
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if !mu.TryLock() {
		t.Fatal("mutex not free at the end")
	}
	mu.Unlock()
}

func TestIDs(t *testing.T) {
	var a, b lockorder.Mutex
	var c lockorder.RWMutex
	ia, ib, ic := a.ID(), b.ID(), c.ID()
	if ia == 0 || ia == ib || ib == ic || ia == ic {
		t.Fatalf("IDs %d %d %d are not distinct and non-zero", ia, ib, ic)
	}
	if a.ID() != ia {
		t.Fatal("ID changed")
	}
}
