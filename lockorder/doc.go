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
//	// In tests (or a canary): report inversions and waits over 5s.
//	lockorder.EnableChecker(lockorder.CheckerConfig{LongWait: 5 * time.Second})
//
// # Cost
//
// Mutex and RWMutex are drop-in replacements for their sync counterparts.
// An uncontended Lock and Unlock is a compare-and-swap each, plus one atomic
// load to see whether the checker is on (constant-folded under the build
// tag). Waiters sleep in a FIFO queue and the unlocking goroutine hands the
// lock to the first of them: no spinning, no polling, no starvation. With
// the checker on, each lock and unlock captures a stack (microseconds).
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
// Reports go to the callbacks of [CheckerConfig], to log/slog at error
// level, and to a [bulwark.Observer] as [KindInversion] and
// [KindLongWait] events, kinds this package defines with [bulwark.NewKind].
package lockorder
