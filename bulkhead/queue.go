package bulkhead

import (
	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/waitq"
)

// A waiter is one caller queued for a permit, in a queue guarded by
// Bulkhead.mu. Each bulkhead keeps a pool of them for reuse (per bulkhead,
// not global, so that the channels and timers of a bulkhead made in a
// synctest bubble stay in that bubble), so a call that waits usually
// allocates nothing.
type waiter = waitq.Waiter[waitTimer]

// waitTimer is what a bulkhead keeps on a waiter: the timer of its wait
// when Config.MaxWait is finite, made on first use and kept for reuse.
type waitTimer struct {
	timer bulwark.Timer
}

// newWaiter returns a reused waiter or a new one. Its channel is empty and
// its timer stopped.
func (b *Bulkhead) newWaiter() *waiter {
	if w, ok := b.waiters.Get().(*waiter); ok {
		return w
	}
	return waitq.NewWaiter(waitTimer{})
}

// putWaiter keeps w for reuse. w is off the queue, its channel is empty and
// its timer stopped.
func (b *Bulkhead) putWaiter(w *waiter) {
	w.Reset()
	b.waiters.Put(w)
}
