package lockorder

import "github.com/bulwark-go/bulwark/internal/waitq"

// A waiter is a goroutine parked in a lock's queue, which the lock's queue
// mutex guards. The unlocking goroutine hands the lock over directly
// (Grant), so a waiter that gives up (context, timeout) can tell under the
// queue mutex whether it got the lock after all (Granted).
type waiter = waitq.Waiter[waitKind]

// waitKind is what a lock keeps on a waiter.
type waitKind struct {
	reader bool // RWMutex: waits for a read lock
}

func newWaiter(reader bool) *waiter {
	return waitq.NewWaiter(waitKind{reader: reader})
}
