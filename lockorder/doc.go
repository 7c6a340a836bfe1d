// Package lockorder prevents, bounds and detects lock-order deadlocks.
//
// Two goroutines that lock the same two mutexes in opposite orders can
// each get one and wait forever for the other. Go does not notice: the
// program does not crash, it just stops answering. This package offers
// three defences:
//
//   - Ordered acquisition: [LockAll] (or [Lock], for defer) locks a set of
//     mutexes in one global order, by [Mutex.ID], whatever order they are
//     passed in, so code that locks several at once cannot deadlock with
//     itself. An [RWMutex] takes part for writing, or for reading as
//     [Read](rw).
//   - Bounded waits: [Mutex] and [RWMutex] can be locked with a deadline
//     ([Mutex.LockContext], [Mutex.TryLockFor]), so a wait that would never
//     end gives up with an error instead.
//   - Detection: the checker ([EnableChecker], or the build tag
//     lockorder_check) records which locks each goroutine holds when it
//     takes another and reports an inversion the first time both orders
//     occur, with both stacks, before the deadlock ever happens; it also
//     reports waits longer than a threshold, with the holder's stack.
//
// Use Mutex and RWMutex in place of sync.Mutex and sync.RWMutex wherever
// code holds one lock while taking another, or must not wait forever, and
// turn the checker on in tests and canaries. (Which of this package and
// recovery to reach for: see the recovery package's "Which tool to use
// when".)
//
// Usage:
//
//	type Account struct {
//		mu      lockorder.Mutex
//		balance int
//	}
//
//	func Transfer(from, to *Account, amount int) {
//		defer lockorder.Lock(&from.mu, &to.mu)() // same order for (a, b) and (b, a)
//		from.balance -= amount
//		to.balance += amount
//	}
//
//	// A wait that gives up instead of hanging.
//	if err := mu.LockContext(ctx); err != nil { return err } // ctx.Err(), lock not held
//	if !mu.TryLockFor(50 * time.Millisecond) { return errBusy }
//
// # Ordered locking
//
// LockAll locks in increasing ID (unique among Mutexes and RWMutexes, given
// on first use) and [UnlockAll] unlocks in reverse. A [Locker] is a *Mutex,
// an *RWMutex (for writing) or Read(&rw) (for reading):
// lockorder.LockAll(&a.mu, &b.mu, lockorder.Read(&cfg.mu)). Duplicates are
// locked once (an RWMutex given both ways, for writing), a nil panics with
// its position, and the caller's slice is not reordered; LockAll allocates
// nothing, Lock allocates its closure. [LockAllContext] locks all or none.
//
// A waiter that gives up leaves its place in the queue. A waiting writer
// holds back new readers; the readers queued behind a writer get the lock
// together.
//
// # Cost
//
// Mutex and RWMutex are drop-in replacements for their sync counterparts;
// Lock and Unlock inline.
// An uncontended Lock and Unlock is a compare-and-swap each, plus one atomic
// load to see whether the checker is on (constant-folded under the build
// tag). Waiters sleep in a FIFO queue and the unlocking goroutine hands the
// lock to the first of them: no spinning, no polling, no starvation. With
// the checker on, each lock and unlock captures a stack. Nothing allocates
// but Lock's closure and a blocked waiter's record. Measured with
// go test -run '^$' -bench . -benchmem ./lockorder/ on two shared, busy
// cores (ns per Lock and Unlock, ranges over runs):
//
//	                                  lockorder         sync
//	Mutex, uncontended                36–46             36–50
//	RWMutex write, uncontended        35–45             49–80
//	RWMutex read, uncontended         21–45             20–40
//	Mutex, 2 goroutines contending    42–50             16–30 (sync spins; lockorder hands off FIFO)
//	checker on, Mutex uncontended     10,000–20,000, 6 allocs
//	checker off, the check alone      0.7
//
// # The checker
//
// The checker keys locks by ID and names them by their Name field. It keeps
// each ordered pair it has seen ("A held while B locked") with the stacks,
// up to CheckerConfig.MaxPairs; a new pair that closes a cycle (B before A
// seen earlier, or B before C before A) is an inversion. TryLock orders
// nothing, because it cannot wait. Goroutines are told apart by the id on
// the first line of their stack, read only while the checker is on.
//
// An inversion is reported once, before the goroutine waits, as an
// [*InversionError] (both stacks, and the earlier orders that close the
// cycle) matching [ErrInversion]. A goroutine that waits longer than
// CheckerConfig.LongWait is reported once as a [*LongWaitError] with each
// holder's stack from when it took the lock.
//
// Reports go to the callbacks of [CheckerConfig], to log/slog at error
// level, and to a [bulwark.Observer] as [KindInversion] and
// [KindLongWait] events, kinds this package defines with [bulwark.NewKind]
// (Policy "lockorder", Name the lock's name). A lock without a Name is
// Mutex#<ID> in reports but [UnnamedLock] in events, which become metric
// labels: an ID depends on the order locks are first used, so it would make
// new series on every run. Name a lock after what it guards ("accounts"),
// never after an instance (no user or request ids).
//
// # Turning the checker on
//
// In tests, for the whole run: go test -tags lockorder_check ./... (on
// from the start, reports logged at error level), or, to fail the run on
// any inversion:
//
//	func TestMain(m *testing.M) {
//		var inversions atomic.Int32
//		lockorder.EnableChecker(lockorder.CheckerConfig{
//			OnInversion: func(*lockorder.InversionError) { inversions.Add(1) },
//			LongWait:    5 * time.Second,
//		})
//		code := m.Run()
//		if code == 0 && inversions.Load() > 0 {
//			code = 1
//		}
//		os.Exit(code)
//	}
//
// A test needs no real deadlock: running the two orders one after the
// other on one goroutine is enough for the report. Long waits are testable
// in virtual time with testing/synctest.
//
// In production, on a canary or behind a flag, early in main:
// lockorder.EnableChecker(lockorder.CheckerConfig{LongWait: 30 *
// time.Second, Observer: metrics}). Checking captures a stack per lock, so
// keep it off on the hot fleet; off, it costs one atomic load per lock.
// Locks taken before EnableChecker are not known to be held.
package lockorder
