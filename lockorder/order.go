package lockorder

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// LockAll locks every mutex given, in increasing [Mutex.ID], so that any
// two calls that share mutexes take them in the same order and cannot
// deadlock each other, whatever order their arguments are in. A mutex
// given twice is locked once. LockAll panics on a nil mutex. The caller's
// slice is not reordered.
//
// Unlock with [UnlockAll] and the same mutexes.
func LockAll(mus ...*Mutex) {
	var buf [8]*Mutex
	for _, m := range ordered(buf[:0], mus, "LockAll") {
		m.Lock()
	}
}

// UnlockAll unlocks every mutex given, in decreasing [Mutex.ID] (the
// reverse of LockAll). A mutex given twice is unlocked once.
func UnlockAll(mus ...*Mutex) {
	var buf [8]*Mutex
	s := ordered(buf[:0], mus, "UnlockAll")
	for i := len(s) - 1; i >= 0; i-- {
		s[i].Unlock()
	}
}

// Lock is [LockAll] returning the function that undoes it, for defer:
//
//	defer lockorder.Lock(&from.mu, &to.mu)()
//
// Calling the returned function twice panics.
func Lock(mus ...*Mutex) (unlock func()) {
	u := new(unlocker)
	u.locked = ordered(u.buf[:0], mus, "Lock")
	for _, m := range u.locked {
		m.Lock()
	}
	return u.unlock
}

// unlocker is what the function returned by Lock undoes.
type unlocker struct {
	buf    [4]*Mutex
	locked []*Mutex
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
func LockAllContext(ctx context.Context, mus ...*Mutex) error {
	var buf [8]*Mutex
	s := ordered(buf[:0], mus, "LockAllContext")
	for i, m := range s {
		if err := m.LockContext(ctx); err != nil {
			for j := i - 1; j >= 0; j-- {
				s[j].Unlock()
			}
			return err
		}
	}
	return nil
}

// ordered appends mus to dst sorted by ID without duplicates.
func ordered(dst, mus []*Mutex, caller string) []*Mutex {
	for i, m := range mus {
		if m == nil {
			panic(fmt.Sprintf("lockorder: %s: mutex %d of %d is nil", caller, i, len(mus)))
		}
	}
	start := len(dst)
	dst = append(dst, mus...)
	s := dst[start:]
	if len(s) <= 16 { // insertion sort: no closure, no allocation
		for i := 1; i < len(s); i++ {
			for j := i; j > 0 && s[j].ID() < s[j-1].ID(); j-- {
				s[j], s[j-1] = s[j-1], s[j]
			}
		}
	} else {
		slices.SortFunc(s, func(a, b *Mutex) int { return cmp.Compare(a.ID(), b.ID()) })
	}
	return append(dst[:start], slices.Compact(s)...)
}
