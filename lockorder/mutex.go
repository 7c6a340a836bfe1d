package lockorder

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark/internal/waitq"
)

// A Mutex is a mutual exclusion lock, like sync.Mutex, that can also be
// acquired with a deadline ([Mutex.LockContext], [Mutex.TryLockFor]), has a
// place in a global lock order ([Mutex.ID], used by [LockAll]) and is seen
// by the lock-order checker when that is on ([EnableChecker]).
//
// The zero Mutex is unlocked and ready to use. A Mutex must not be copied
// after first use. As with sync.Mutex, it is not tied to a goroutine: one
// goroutine may lock it and another unlock it.
//
// Waiting goroutines queue in arrival order and an unlock hands the mutex to
// the first of them, so no waiter starves; a waiter sleeps on a channel
// until then (no spinning, no polling).
type Mutex struct {
	// Name names the mutex in the checker's reports and events ("accounts",
	// "orders-cache"): name what the lock guards, not which instance it is
	// (no user or request ids: the Observer's events become metric labels).
	// Set it before first use and do not change it. Default: "", shown as
	// "Mutex#<ID>" in reports and as [UnnamedLock] in events.
	Name string

	state uint32 // mLocked | mWaiters; accessed with sync/atomic functions, which keep Lock inlinable
	id    atomic.Uint64
	qmu   sync.Mutex // guards q and every change of state while mWaiters is set
	q     waitq.Queue[waitKind]
}

const (
	mLocked  = 1 << iota // held
	mWaiters             // the queue is not empty: every change goes through qmu
)

// Lock locks m, waiting as long as it takes.
func (m *Mutex) Lock() {
	// Small enough to inline: the checker test and a compare-and-swap.
	if checking() || !atomic.CompareAndSwapUint32(&m.state, 0, mLocked) {
		m.lockOutline()
	}
}

func (m *Mutex) lockOutline() {
	if checking() {
		m.lockChecked(nil, nil)
		return
	}
	m.lockSlow(nil, nil, nil)
}

// TryLock locks m if it is free and reports whether it did. It never waits,
// so it adds no ordering constraint for the checker.
func (m *Mutex) TryLock() bool {
	if !atomic.CompareAndSwapUint32(&m.state, 0, mLocked) {
		return false
	}
	if checking() {
		m.checkTry()
	}
	return true
}

// LockContext locks m, or gives up when ctx is done and returns ctx.Err()
// without the lock. If ctx is already done it returns at once, even if m is
// free. When the lock is granted at the moment ctx ends, LockContext keeps
// it and returns nil: nil always means the lock is held.
func (m *Mutex) LockContext(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if checking() {
		if m.lockChecked(ctx.Done(), nil) {
			return nil
		}
		return ctx.Err()
	}
	if atomic.CompareAndSwapUint32(&m.state, 0, mLocked) || m.lockSlow(ctx.Done(), nil, nil) {
		return nil
	}
	return ctx.Err()
}

// TryLockFor locks m if that is possible within d and reports whether it
// did. With d <= 0 it is TryLock.
func (m *Mutex) TryLockFor(d time.Duration) bool {
	if d <= 0 {
		return m.TryLock()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	if checking() {
		return m.lockChecked(nil, t.C)
	}
	return atomic.CompareAndSwapUint32(&m.state, 0, mLocked) || m.lockSlow(nil, t.C, nil)
}

// Unlock unlocks m, handing it to the longest waiting goroutine if there is
// one. Unlocking an unlocked Mutex panics.
func (m *Mutex) Unlock() {
	if checking() || !atomic.CompareAndSwapUint32(&m.state, mLocked, 0) {
		m.unlockOutline()
	}
}

func (m *Mutex) unlockOutline() {
	if checking() {
		released(m.ID(), false)
		if atomic.CompareAndSwapUint32(&m.state, mLocked, 0) {
			return
		}
	}
	m.unlockSlow()
}

// ID returns m's place in the global lock order: a number unique among the
// Mutexes and RWMutexes of the process, given on first use and never
// changed. [LockAll] locks in increasing ID.
func (m *Mutex) ID() uint64 { return assignID(&m.id) }

func (m *Mutex) label() string {
	if m.Name != "" {
		return m.Name
	}
	return fmt.Sprintf("Mutex#%d", m.ID())
}

// lockSlow queues for m. It returns true with the lock held, or false when
// done or expire fired first. watch, when the checker is on, is the pending
// acquisition, for the long-wait report.
func (m *Mutex) lockSlow(done <-chan struct{}, expire <-chan time.Time, watch *acquisition) bool {
	m.qmu.Lock()
	for {
		s := atomic.LoadUint32(&m.state)
		if s&mLocked == 0 {
			if atomic.CompareAndSwapUint32(&m.state, s, s|mLocked) {
				m.qmu.Unlock()
				return true
			}
			continue
		}
		if s&mWaiters != 0 || atomic.CompareAndSwapUint32(&m.state, s, s|mWaiters) {
			break
		}
	}
	w := newWaiter(false)
	m.q.PushBack(w)
	m.qmu.Unlock()

	if park(w, done, expire, watch) {
		return true
	}
	m.qmu.Lock()
	defer m.qmu.Unlock()
	if w.Granted() { // handed over as we gave up: keep it
		return true
	}
	m.q.Remove(w)
	if m.q.Len() == 0 {
		atomic.AndUint32(&m.state, ^uint32(mWaiters))
	}
	return false
}

func (m *Mutex) unlockSlow() {
	m.qmu.Lock()
	for {
		s := atomic.LoadUint32(&m.state)
		if s&mLocked == 0 {
			m.qmu.Unlock()
			panic("lockorder: Unlock of an unlocked Mutex")
		}
		if s&mWaiters != 0 {
			break
		}
		if atomic.CompareAndSwapUint32(&m.state, s, 0) {
			m.qmu.Unlock()
			return
		}
	}
	w := m.q.Front()
	if w == nil { // cannot happen: mWaiters is cleared with the last waiter
		atomic.StoreUint32(&m.state, 0)
		m.qmu.Unlock()
		return
	}
	m.q.Remove(w)
	if m.q.Len() == 0 {
		atomic.StoreUint32(&m.state, mLocked) // still held, now by w
	}
	w.Grant()
	m.qmu.Unlock()
}

// park waits until w is granted (true) or done or expire fires (false).
// With watch set and a long-wait threshold configured, it reports a wait
// that passes the threshold, once, and keeps waiting.
func park(w *waiter, done <-chan struct{}, expire <-chan time.Time, watch *acquisition) bool {
	var long <-chan time.Time
	if watch != nil {
		if d := longWaitThreshold(); d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			long = t.C
		}
	}
	for {
		select {
		case <-w.Ready():
			return true
		case <-done:
			return false
		case <-expire:
			return false
		case <-long:
			long = nil
			reportLongWait(watch)
		}
	}
}

func (m *Mutex) lockChecked(done <-chan struct{}, expire <-chan time.Time) bool {
	a := beforeAcquire(m.ID(), m.label(), m.Name == "", false, false)
	if atomic.CompareAndSwapUint32(&m.state, 0, mLocked) || m.lockSlow(done, expire, a) {
		acquired(a)
		return true
	}
	return false
}

func (m *Mutex) checkTry() {
	acquired(beforeAcquire(m.ID(), m.label(), m.Name == "", false, true))
}
