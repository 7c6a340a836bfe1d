package lockorder

// A waiter is a goroutine parked in a lock's queue. The unlocking goroutine
// hands the lock over directly: it sets granted and sends on ch, both under
// the lock's queue mutex, so a waiter that gives up (context, timeout) can
// tell whether it got the lock after all.
type waiter struct {
	ch         chan struct{} // capacity 1: the grant never blocks
	granted    bool
	reader     bool // RWMutex: waits for a read lock
	prev, next *waiter
}

func newWaiter(reader bool) *waiter {
	return &waiter{ch: make(chan struct{}, 1), reader: reader}
}

// waitQueue is a FIFO list of waiters, guarded by the owning lock's queue
// mutex. Removal from the middle (a waiter that gives up) is O(1).
type waitQueue struct {
	head, tail *waiter
}

func (q *waitQueue) empty() bool { return q.head == nil }

func (q *waitQueue) push(w *waiter) {
	w.prev, w.next = q.tail, nil
	if q.tail == nil {
		q.head = w
	} else {
		q.tail.next = w
	}
	q.tail = w
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
	w.prev, w.next = nil, nil
}

// grant hands the lock to w, which must be out of the queue.
func (w *waiter) grant() {
	w.granted = true
	w.ch <- struct{}{}
}
