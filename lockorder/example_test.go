package lockorder_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark/lockorder"
)

type Account struct {
	mu      lockorder.Mutex
	balance int
}

// Transfer locks both accounts in the global lock order, so Transfer(a, b)
// and Transfer(b, a) running at once cannot deadlock.
func Transfer(from, to *Account, amount int) {
	defer lockorder.Lock(&from.mu, &to.mu)()
	from.balance -= amount
	to.balance += amount
}

// Eight goroutines move money at random among ten accounts; the total is
// conserved and nothing deadlocks.
func ExampleLock() {
	accounts := make([]*Account, 10)
	for i := range accounts {
		accounts[i] = &Account{balance: 1000}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 0))
			for range 10_000 {
				Transfer(accounts[r.IntN(10)], accounts[r.IntN(10)], r.IntN(100))
			}
		})
	}
	wg.Wait()
	total := 0
	for _, a := range accounts {
		total += a.balance
	}
	fmt.Println("total:", total)
	// Output:
	// total: 10000
}

// LockAll and UnlockAll do the same without a closure, for hot paths.
func ExampleLockAll() {
	var a, b lockorder.Mutex
	lockorder.LockAll(&b, &a) // locks a first if a.ID() < b.ID()
	fmt.Println(a.TryLock(), b.TryLock())
	lockorder.UnlockAll(&b, &a)
	// Output:
	// false false
}

// The checker reports the naive transfer, which locks in argument order,
// the first time the second order occurs, even on a single goroutine where
// it cannot deadlock yet.
func ExampleEnableChecker() {
	lockorder.EnableChecker(lockorder.CheckerConfig{
		OnInversion: func(e *lockorder.InversionError) {
			fmt.Printf("inversion: %s while holding %s\n", e.Lock, e.Held)
		},
		Logger: slog.New(slog.DiscardHandler), // the default logs to slog.Default()
	})
	defer lockorder.DisableChecker()

	naive := func(from, to *lockorder.Mutex) {
		from.Lock()
		to.Lock()
		to.Unlock()
		from.Unlock()
	}
	alice := &lockorder.Mutex{Name: "alice"}
	bob := &lockorder.Mutex{Name: "bob"}
	naive(alice, bob)
	naive(bob, alice)
	// Output:
	// inversion: alice while holding bob
}

func ExampleMutex_LockContext() {
	var mu lockorder.Mutex
	mu.Lock() // held, say, by a stuck goroutine

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := mu.LockContext(ctx); err != nil {
		fmt.Println("gave up:", err)
	}
	fmt.Println(mu.TryLockFor(time.Millisecond))
	// Output:
	// gave up: context deadline exceeded
	// false
}
