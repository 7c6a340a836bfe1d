package bulkhead

import "github.com/bulwark-go/bulwark"

// A waiter is one caller queued for a permit. Each bulkhead keeps a pool of
// them for reuse (per bulkhead, not global, so that the channels and timers
// of a bulkhead made in a synctest bubble stay in that bubble), so a call
// that waits usually allocates nothing.
type waiter struct {
	next, prev *waiter
	// ready receives one value when the waiter is granted a permit. It is
	// buffered, so granting never blocks the releaser.
	ready chan struct{}
	// granted is set, under Bulkhead.mu, when a permit is handed over.
	granted bool
	// timer times the wait when Config.MaxWait is finite; made on first use.
	timer bulwark.Timer
}

// waitQueue is an intrusive doubly linked FIFO list. It is guarded by
// Bulkhead.mu.
type waitQueue struct {
	head, tail *waiter
	len        int
}

func (q *waitQueue) pushBack(w *waiter) {
	w.next, w.prev = nil, q.tail
	if q.tail == nil {
		q.head = w
	} else {
		q.tail.next = w
	}
	q.tail = w
	q.len++
}

func (q *waitQueue) popFront() *waiter {
	w := q.head
	if w != nil {
		q.remove(w)
	}
	return w
}

func (q *waitQueue) remove(w *waiter) {
	if w.prev == nil {
		q.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		q.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.next, w.prev = nil, nil
	q.len--
}

// newWaiter returns a reused waiter or a new one. Its channel is empty and
// its timer stopped.
func (b *Bulkhead) newWaiter() *waiter {
	if w, ok := b.waiters.Get().(*waiter); ok {
		return w
	}
	return &waiter{ready: make(chan struct{}, 1)}
}

// putWaiter keeps w for reuse. w is off the queue, its channel is empty and
// its timer stopped.
func (b *Bulkhead) putWaiter(w *waiter) {
	w.granted = false
	w.next, w.prev = nil, nil
	b.waiters.Put(w)
}
