package breaker

import "time"

// Bits of an outcome in the count window's ring.
const (
	bitCall = 1 << iota
	bitFail
	bitSlow
)

// bucket holds one second of a time window.
type bucket struct {
	calls, fails, slow int32
}

// window is the closed state's memory of recent calls. It is guarded by
// Breaker.mu. WindowConsecutive keeps no window: Breaker.consec is its
// whole memory.
type window struct {
	kind WindowKind
	size int

	// WindowCount: a ring of outcomes.
	ring []uint8
	pos  int // where the next outcome goes
	n    int // outcomes in the ring

	// WindowTime: one bucket per second; buckets[s%size] holds second s for
	// s in (head-size, head].
	buckets []bucket
	head    int64

	calls, fails, slow int // totals over the window
}

func newWindow(kind WindowKind, size int) *window {
	w := &window{kind: kind, size: size}
	switch kind {
	case WindowCount:
		w.ring = make([]uint8, size)
	case WindowTime:
		w.buckets = make([]bucket, size)
	}
	return w
}

// reset empties the window.
func (w *window) reset() {
	clear(w.ring)
	clear(w.buckets)
	w.pos, w.n, w.head = 0, 0, 0
	w.calls, w.fails, w.slow = 0, 0, 0
}

// add records one call that finished at now (time since the breaker was
// created; only the time window reads it).
func (w *window) add(now time.Duration, fail, slow bool) {
	switch w.kind {
	case WindowCount:
		o := uint8(bitCall)
		if fail {
			o |= bitFail
		}
		if slow {
			o |= bitSlow
		}
		if w.n == len(w.ring) {
			old := w.ring[w.pos]
			w.calls--
			if old&bitFail != 0 {
				w.fails--
			}
			if old&bitSlow != 0 {
				w.slow--
			}
		} else {
			w.n++
		}
		w.ring[w.pos] = o
		if w.pos++; w.pos == len(w.ring) {
			w.pos = 0
		}
	case WindowTime:
		sec := int64(now / time.Second)
		w.advance(sec)
		if sec <= w.head-int64(w.size) {
			return // finished before the window began: too old to count
		}
		b := &w.buckets[sec%int64(w.size)]
		b.calls++
		if fail {
			b.fails++
		}
		if slow {
			b.slow++
		}
	default:
		return
	}
	w.calls++
	if fail {
		w.fails++
	}
	if slow {
		w.slow++
	}
}

// advance moves a time window's head to second sec, dropping the seconds
// that fall out of it.
func (w *window) advance(sec int64) {
	if w.kind != WindowTime || sec <= w.head {
		return
	}
	size := int64(w.size)
	if sec-w.head >= size {
		clear(w.buckets)
		w.calls, w.fails, w.slow = 0, 0, 0
	} else {
		for s := w.head + 1; s <= sec; s++ {
			b := &w.buckets[s%size]
			w.calls -= int(b.calls)
			w.fails -= int(b.fails)
			w.slow -= int(b.slow)
			*b = bucket{}
		}
	}
	w.head = sec
}

// clean reports whether recording a fast, successful call would change
// nothing: the count window is full and holds neither failures nor slow
// calls. A time window is never clean (a success adds a call to the current
// second); the consecutive window is clean when there is no failure run,
// which the breaker checks itself.
func (w *window) clean() bool {
	return w.kind == WindowCount && w.n == len(w.ring) && w.fails == 0 && w.slow == 0
}
