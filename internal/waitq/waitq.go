// Package waitq is the first-in-first-out queue of goroutines parked until
// another goroutine hands them something directly: a bulkhead's permit,
// a lockorder lock. It is shared by bulkhead and lockorder.
//
// A Queue is not safe for concurrent use: its owner guards it, and the
// fields of the waiters in it, with one mutex of its own. Only a waiter's
// channel ([Waiter.Ready]) is read without that mutex.
package waitq

// A Waiter is one goroutine in a [Queue]. Grant hands it what it waits for:
// it sets the granted mark and sends on the channel, both under the owner's
// mutex, so a waiter that gives up (a context, a timeout) can take the
// mutex and tell from Granted whether it got it after all.
//
// A Waiter may be reused ([Waiter.Reset]), so a wait need not allocate.
type Waiter[T any] struct {
	next, prev *Waiter[T]
	ready      chan struct{} // capacity 1: Grant never blocks
	granted    bool
	// Value is the owner's own record of the waiter (a reader's mark, a
	// timer to reuse). The queue never reads it.
	Value T
}

// NewWaiter returns a waiter, not granted and in no queue, that holds v.
func NewWaiter[T any](v T) *Waiter[T] {
	return &Waiter[T]{ready: make(chan struct{}, 1), Value: v}
}

// Ready returns the channel that receives one value when w is granted.
func (w *Waiter[T]) Ready() <-chan struct{} { return w.ready }

// Granted reports whether w was granted. The owner's mutex is held.
func (w *Waiter[T]) Granted() bool { return w.granted }

// Grant hands w what it waits for: it marks w granted and sends on its
// channel, which never blocks. w is out of the queue (PopFront or Remove
// took it off) and the owner's mutex is held.
func (w *Waiter[T]) Grant() {
	w.granted = true
	w.ready <- struct{}{}
}

// Reset makes w fit to be queued again: not granted, linked to nothing. Its
// Value stays. The caller has taken the granted value off the channel, if
// there was one, and w is in no queue.
func (w *Waiter[T]) Reset() {
	w.granted = false
	w.next, w.prev = nil, nil
}

// A Queue is a first-in-first-out list of waiters, doubly linked through
// the waiters themselves, so pushing, popping and removing a waiter from
// the middle (one that gave up) take constant time and allocate nothing.
// The zero value is an empty queue.
type Queue[T any] struct {
	head, tail *Waiter[T]
	len        int
}

// Len returns the number of waiters in q.
func (q *Queue[T]) Len() int { return q.len }

// Front returns the first waiter in q, or nil if q is empty.
func (q *Queue[T]) Front() *Waiter[T] { return q.head }

// PushBack puts w, which is in no queue, at the back of q.
func (q *Queue[T]) PushBack(w *Waiter[T]) {
	w.next, w.prev = nil, q.tail
	if q.tail == nil {
		q.head = w
	} else {
		q.tail.next = w
	}
	q.tail = w
	q.len++
}

// PopFront takes the first waiter off q and returns it, or returns nil if
// q is empty.
func (q *Queue[T]) PopFront() *Waiter[T] {
	w := q.head
	if w != nil {
		q.Remove(w)
	}
	return w
}

// Remove takes w, which must be in q, off q.
func (q *Queue[T]) Remove(w *Waiter[T]) {
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
