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

// The bank of the package example: accounts with a mutex each, and
// transfers that lock two accounts.
type account struct {
	mu      lockorder.Mutex
	balance int
}

// transfer locks both accounts in the global order: transfer(a, b) and
// transfer(b, a) lock the same mutex first.
func transfer(from, to *account, amount int) {
	defer lockorder.Lock(&from.mu, &to.mu)()
	from.balance -= amount
	to.balance += amount
}

// naiveTransfer locks in argument order: transfer(a, b) running with
// transfer(b, a) can deadlock.
func naiveTransfer(from, to *account, amount int) {
	from.mu.Lock()
	defer from.mu.Unlock()
	to.mu.Lock()
	defer to.mu.Unlock()
	from.balance -= amount
	to.balance += amount
}

func newBank(n, balance int) []*account {
	accounts := make([]*account, n)
	for i := range accounts {
		accounts[i] = &account{balance: balance}
	}
	return accounts
}

func total(accounts []*account) int {
	sum := 0
	for _, a := range accounts {
		sum += a.balance
	}
	return sum
}

// 8 goroutines × 10,000 random transfers among 10 accounts finish, and no
// money is made or lost.
func TestBankTransfers(t *testing.T) {
	const goroutines, transfers, n, start = 8, 10_000, 10, 1000
	accounts := newBank(n, start)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 42))
			for range transfers {
				from, to := r.IntN(n), r.IntN(n)
				transfer(accounts[from], accounts[to], r.IntN(100))
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("transfers did not finish: deadlock?")
	}
	if got := total(accounts); got != n*start {
		t.Fatalf("total balance %d, want %d", got, n*start)
	}
}

func TestLockAllOrderAndDuplicates(t *testing.T) {
	var a, b, c lockorder.Mutex
	mus := []lockorder.Locker{&c, &a, &b, &a}
	before := append([]lockorder.Locker(nil), mus...)
	lockorder.LockAll(mus...)
	for i, m := range []*lockorder.Mutex{&a, &b, &c} {
		if m.TryLock() {
			t.Fatalf("mutex %d not locked by LockAll", i)
		}
	}
	lockorder.UnlockAll(mus...) // &a twice: unlocked once, so no panic
	for i := range mus {
		if mus[i] != before[i] {
			t.Fatal("LockAll reordered the caller's slice")
		}
	}
	for i, m := range []*lockorder.Mutex{&a, &b, &c} {
		if !m.TryLock() {
			t.Fatalf("mutex %d still locked after UnlockAll", i)
		}
		m.Unlock()
	}
	mustPanic(t, "LockAll with nil", func() { lockorder.LockAll(&a, nil) })
	if !a.TryLock() {
		t.Fatal("LockAll with a nil locked something before panicking")
	}
	a.Unlock()

	unlock := lockorder.Lock(&b, &a)
	unlock()
	mustPanic(t, "second call of the unlock function", unlock)
}

func TestLockAllContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var a, b lockorder.Mutex
		b.Lock() // held elsewhere
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := lockorder.LockAllContext(ctx, &b, &a); err != context.DeadlineExceeded {
			t.Fatalf("LockAllContext = %v, want DeadlineExceeded", err)
		}
		if !a.TryLock() {
			t.Fatal("LockAllContext kept a lock after giving up")
		}
		a.Unlock()
		b.Unlock()
		if err := lockorder.LockAllContext(t.Context(), &a, &b); err != nil {
			t.Fatal(err)
		}
		lockorder.UnlockAll(&a, &b)
	})
}
