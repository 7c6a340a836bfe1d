package lockorder

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark/internal/waitq"
)

// An RWMutex is a reader/writer lock, like sync.RWMutex, with the additions
// of [Mutex]: acquisition with a deadline, an [RWMutex.ID] in the global
// lock order, and the lock-order checker. Read locks count for the checker
// like write locks: two readers taking A and B in opposite orders deadlock
// as soon as writers queue on both.
//
// The zero RWMutex is unlocked and ready to use. It must not be copied
// after first use.
//
// Goroutines that must wait queue in arrival order. Once a writer waits, new
// readers queue behind it, so writers do not starve; when a writer unlocks,
// all the readers at the head of the queue get the lock together.
type RWMutex struct {
	// Name names the lock in the checker's reports and events, as
	// [Mutex.Name] does. Set it before first use. Default: "", shown as
	// "RWMutex#<ID>" in reports and as [UnnamedLock] in events.
	Name string

	state atomic.Uint64 // reader count | rwWriter | rwWaiters
	id    atomic.Uint64
	qmu   sync.Mutex // guards q and every change of state while rwWaiters is set
	q     waitq.Queue[waitKind]
}

const (
	rwReaders = 1<<32 - 1 // mask of the reader count
	rwWriter  = 1 << 32   // a writer holds the lock
	rwWaiters = 1 << 33   // the queue is not empty
)

// Lock locks rw for writing, waiting as long as it takes.
func (rw *RWMutex) Lock() {
	if checking() || !rw.state.CompareAndSwap(0, rwWriter) {
		rw.lockOutline(false)
	}
}

func (rw *RWMutex) lockOutline(reader bool) {
	if checking() {
		rw.lockChecked(reader, nil, nil)
		return
	}
	if !reader || !rw.tryRLock() {
		rw.lockSlow(reader, nil, nil, nil)
	}
}

// RLock locks rw for reading, waiting as long as it takes. A goroutine
// must not RLock a lock it already read-locks if a writer may be waiting:
// the second RLock queues behind the writer, which waits for the first.
func (rw *RWMutex) RLock() {
	if checking() || !rw.rlockFast() {
		rw.lockOutline(true)
	}
}

// rlockFast takes a read lock if no writer holds or waits for rw, in one
// attempt: s < rwReaders means no flag is set and the count is not full.
func (rw *RWMutex) rlockFast() bool {
	s := rw.state.Load()
	return s < rwReaders && rw.state.CompareAndSwap(s, s+1)
}

// TryLock locks rw for writing if it is free, and reports whether it did.
func (rw *RWMutex) TryLock() bool {
	if !rw.state.CompareAndSwap(0, rwWriter) {
		return false
	}
	if checking() {
		acquired(beforeAcquire(rw.ID(), rw.label(), rw.Name == "", false, true))
	}
	return true
}

// TryRLock locks rw for reading if no writer holds it or waits for it, and
// reports whether it did.
func (rw *RWMutex) TryRLock() bool {
	if !rw.tryRLock() {
		return false
	}
	if checking() {
		acquired(beforeAcquire(rw.ID(), rw.label(), rw.Name == "", true, true))
	}
	return true
}

func (rw *RWMutex) tryRLock() bool {
	for {
		s := rw.state.Load()
		if s >= rwReaders {
			return false
		}
		if rw.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

// LockContext locks rw for writing, or gives up when ctx is done; see
// [Mutex.LockContext].
func (rw *RWMutex) LockContext(ctx context.Context) error {
	return rw.lockContext(ctx, false)
}

// RLockContext locks rw for reading, or gives up when ctx is done; see
// [Mutex.LockContext].
func (rw *RWMutex) RLockContext(ctx context.Context) error {
	return rw.lockContext(ctx, true)
}

func (rw *RWMutex) lockContext(ctx context.Context, reader bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if checking() {
		if rw.lockChecked(reader, ctx.Done(), nil) {
			return nil
		}
		return ctx.Err()
	}
	if rw.tryFast(reader) || rw.lockSlow(reader, ctx.Done(), nil, nil) {
		return nil
	}
	return ctx.Err()
}

// TryLockFor locks rw for writing if that is possible within d, and
// reports whether it did.
func (rw *RWMutex) TryLockFor(d time.Duration) bool { return rw.tryFor(d, false) }

// TryRLockFor locks rw for reading if that is possible within d, and
// reports whether it did.
func (rw *RWMutex) TryRLockFor(d time.Duration) bool { return rw.tryFor(d, true) }

func (rw *RWMutex) tryFor(d time.Duration, reader bool) bool {
	if d <= 0 {
		if reader {
			return rw.TryRLock()
		}
		return rw.TryLock()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	if checking() {
		return rw.lockChecked(reader, nil, t.C)
	}
	return rw.tryFast(reader) || rw.lockSlow(reader, nil, t.C, nil)
}

func (rw *RWMutex) tryFast(reader bool) bool {
	if reader {
		return rw.tryRLock()
	}
	return rw.state.CompareAndSwap(0, rwWriter)
}

// Unlock unlocks rw for writing. It panics if rw is not write-locked.
func (rw *RWMutex) Unlock() {
	if checking() || !rw.state.CompareAndSwap(rwWriter, 0) {
		rw.unlockOutline()
	}
}

func (rw *RWMutex) unlockOutline() {
	if checking() {
		released(rw.ID(), false)
		if rw.state.CompareAndSwap(rwWriter, 0) {
			return
		}
	}
	rw.qmu.Lock()
	if rw.state.Load()&rwWriter == 0 {
		rw.qmu.Unlock()
		panic("lockorder: Unlock of an RWMutex that is not write-locked")
	}
	rw.state.And(^uint64(rwWriter))
	rw.grantLocked()
	rw.qmu.Unlock()
}

// RUnlock undoes one RLock. It panics if rw is not read-locked.
func (rw *RWMutex) RUnlock() {
	if checking() || !rw.runlockFast() {
		rw.runlockOutline()
	}
}

// runlockFast drops a read lock if nobody waits, in one attempt.
func (rw *RWMutex) runlockFast() bool {
	s := rw.state.Load()
	return s&rwWaiters == 0 && s&rwReaders != 0 && rw.state.CompareAndSwap(s, s-1)
}

func (rw *RWMutex) runlockOutline() {
	if checking() {
		released(rw.ID(), true)
	}
	for {
		s := rw.state.Load()
		if s&rwReaders == 0 {
			panic("lockorder: RUnlock of an RWMutex that is not read-locked")
		}
		if s&rwWaiters != 0 {
			break
		}
		if rw.state.CompareAndSwap(s, s-1) {
			return
		}
	}
	rw.qmu.Lock()
	if rw.state.Load()&rwReaders == 0 {
		rw.qmu.Unlock()
		panic("lockorder: RUnlock of an RWMutex that is not read-locked")
	}
	rw.state.Add(^uint64(0)) // one reader less
	rw.grantLocked()
	rw.qmu.Unlock()
}

// ID returns rw's place in the global lock order; see [Mutex.ID].
func (rw *RWMutex) ID() uint64 { return assignID(&rw.id) }

func (rw *RWMutex) label() string {
	if rw.Name != "" {
		return rw.Name
	}
	return fmt.Sprintf("RWMutex#%d", rw.ID())
}

// lockSlow queues for rw; see [Mutex.lockSlow].
func (rw *RWMutex) lockSlow(reader bool, done <-chan struct{}, expire <-chan time.Time, watch *acquisition) bool {
	rw.qmu.Lock()
	for {
		s := rw.state.Load()
		if s&rwWaiters == 0 { // nobody queued: take the lock if it is compatible
			if reader && s&rwWriter == 0 && s&rwReaders != rwReaders {
				if rw.state.CompareAndSwap(s, s+1) {
					rw.qmu.Unlock()
					return true
				}
				continue
			}
			if !reader && s == 0 {
				if rw.state.CompareAndSwap(0, rwWriter) {
					rw.qmu.Unlock()
					return true
				}
				continue
			}
			if !rw.state.CompareAndSwap(s, s|rwWaiters) {
				continue
			}
		}
		break
	}
	w := newWaiter(reader)
	rw.q.PushBack(w)
	rw.qmu.Unlock()

	if park(w, done, expire, watch) {
		return true
	}
	rw.qmu.Lock()
	defer rw.qmu.Unlock()
	if w.Granted() {
		return true
	}
	rw.q.Remove(w)
	// A writer that leaves the head of the queue may unblock the readers
	// behind it.
	rw.grantLocked()
	return false
}

// grantLocked hands rw to the waiters at the head of the queue that can
// have it now: one writer if rw is free, or every reader up to the next
// writer if no writer holds it. It clears rwWaiters when the queue empties.
// The caller holds qmu; while rwWaiters is set only qmu holders change state.
func (rw *RWMutex) grantLocked() {
	for {
		w := rw.q.Front()
		if w == nil {
			rw.state.And(^uint64(rwWaiters))
			return
		}
		s := rw.state.Load()
		if w.Value.reader {
			if s&rwWriter != 0 || s&rwReaders == rwReaders {
				return
			}
			rw.state.Add(1)
		} else {
			if s&(rwWriter|rwReaders) != 0 {
				return
			}
			rw.state.Or(rwWriter)
		}
		rw.q.Remove(w)
		w.Grant()
	}
}

func (rw *RWMutex) lockChecked(reader bool, done <-chan struct{}, expire <-chan time.Time) bool {
	a := beforeAcquire(rw.ID(), rw.label(), rw.Name == "", reader, false)
	if rw.tryFast(reader) || rw.lockSlow(reader, done, expire, a) {
		acquired(a)
		return true
	}
	return false
}
