package lockorder

import (
	"context"
	"fmt"
	"slices"
)

// A Locker is one lock for [LockAll], [Lock], [UnlockAll] and
// [LockAllContext]: a *[Mutex], an *[RWMutex] (locked for writing), or
// [Read](rw) (an RWMutex locked for reading). Its ID places it in the
// global order; a type of your own must take its ID from a Mutex or
// RWMutex it wraps, so that IDs stay unique.
type Locker interface {
	ID() uint64
	Lock()
	Unlock()
	LockContext(ctx context.Context) error
}

// Read returns rw as a [Locker] taken for reading: its Lock is rw.RLock, its
// Unlock rw.RUnlock. Given to LockAll with rw itself, rw is locked once,
// for writing.
func Read(rw *RWMutex) Locker { return reader{rw} }

type reader struct{ rw *RWMutex }

func (r reader) ID() uint64                            { return r.rw.ID() }
func (r reader) Lock()                                 { r.rw.RLock() }
func (r reader) Unlock()                               { r.rw.RUnlock() }
func (r reader) LockContext(ctx context.Context) error { return r.rw.RLockContext(ctx) }

// LockAll locks every lock given, in increasing ID ([Mutex.ID],
// [RWMutex.ID]), so that any two calls that share locks take them in the
// same order and cannot deadlock each other, whatever order their
// arguments are in. A lock given twice is locked once (for writing, if an
// RWMutex is given both ways). LockAll panics on a nil lock. The caller's
// slice is not reordered.
//
//	lockorder.LockAll(&a.mu, &b.mu, lockorder.Read(&config.mu))
//
// Unlock with [UnlockAll] and the same locks.
func LockAll(locks ...Locker) {
	var buf [8]Locker
	for _, l := range ordered(buf[:0], locks, "LockAll") {
		l.Lock()
	}
}

// UnlockAll unlocks every lock given, in decreasing ID (the reverse of
// LockAll). A lock given twice is unlocked once, as LockAll locked it.
func UnlockAll(locks ...Locker) {
	var buf [8]Locker
	s := ordered(buf[:0], locks, "UnlockAll")
	for i := len(s) - 1; i >= 0; i-- {
		s[i].Unlock()
	}
}

// Lock is [LockAll] returning the function that undoes it, for defer:
//
//	defer lockorder.Lock(&from.mu, &to.mu)()
//
// Calling the returned function twice panics.
func Lock(locks ...Locker) (unlock func()) {
	u := new(unlocker)
	u.locked = ordered(u.buf[:0], locks, "Lock")
	for _, l := range u.locked {
		l.Lock()
	}
	return u.unlock
}

// unlocker is what the function returned by Lock undoes.
type unlocker struct {
	buf    [4]Locker
	locked []Locker
	done   bool
}

func (u *unlocker) unlock() {
	if u.done {
		panic("lockorder: the unlock function of Lock called twice")
	}
	u.done = true
	for i := len(u.locked) - 1; i >= 0; i-- {
		u.locked[i].Unlock()
	}
}

// LockAllContext is [LockAll] that gives up when ctx is done: it then
// unlocks what it had locked and returns ctx.Err(), holding none of them.
func LockAllContext(ctx context.Context, locks ...Locker) error {
	var buf [8]Locker
	s := ordered(buf[:0], locks, "LockAllContext")
	for i, l := range s {
		if err := l.LockContext(ctx); err != nil {
			for j := i - 1; j >= 0; j-- {
				s[j].Unlock()
			}
			return err
		}
	}
	return nil
}

// before orders locks by ID, a write lock before a read lock of the same
// RWMutex (so that Compact keeps the write lock).
func before(a, b Locker) bool {
	ia, ib := a.ID(), b.ID()
	if ia != ib {
		return ia < ib
	}
	_, ra := a.(reader)
	_, rb := b.(reader)
	return !ra && rb
}

// ordered appends locks to dst sorted by ID, one per ID.
func ordered(dst, locks []Locker, caller string) []Locker {
	for i, l := range locks {
		if l == nil || isNilPointer(l) {
			panic(fmt.Sprintf("lockorder: %s: lock %d of %d is nil", caller, i, len(locks)))
		}
	}
	start := len(dst)
	dst = append(dst, locks...)
	s := dst[start:]
	if len(s) <= 16 { // insertion sort: no closure, no allocation
		for i := 1; i < len(s); i++ {
			for j := i; j > 0 && before(s[j], s[j-1]); j-- {
				s[j], s[j-1] = s[j-1], s[j]
			}
		}
	} else {
		slices.SortStableFunc(s, func(a, b Locker) int {
			switch {
			case before(a, b):
				return -1
			case before(b, a):
				return 1
			}
			return 0
		})
	}
	return append(dst[:start], slices.CompactFunc(s, func(a, b Locker) bool { return a.ID() == b.ID() })...)
}

// isNilPointer reports whether l is a nil *Mutex or *RWMutex (or Read of a
// nil RWMutex), which ID would dereference.
func isNilPointer(l Locker) bool {
	switch l := l.(type) {
	case *Mutex:
		return l == nil
	case *RWMutex:
		return l == nil
	case reader:
		return l.rw == nil
	}
	return false
}
