package lockorder_test

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark/lockorder"
)

// LockAll takes RWMutexes for writing, or for reading with Read, in the one
// global order with Mutexes.
func TestLockAllRWMutex(t *testing.T) {
	var m lockorder.Mutex
	var w, r lockorder.RWMutex
	unlock := lockorder.Lock(lockorder.Read(&r), &w, &m)
	if m.TryLock() || w.TryRLock() {
		t.Error("Mutex or write-locked RWMutex not locked")
	}
	if !r.TryRLock() { // read-locked: another reader gets in
		t.Error("read-locked RWMutex refused another reader")
	} else {
		r.RUnlock()
	}
	if r.TryLock() {
		t.Error("read-locked RWMutex let a writer in")
	}
	unlock()
	for name, try := range map[string]func() bool{"m": m.TryLock, "w": w.TryLock, "r": r.TryLock} {
		if !try() {
			t.Errorf("%s still locked after unlock", name)
		}
	}
}

// An RWMutex given both ways is locked once, for writing.
func TestLockAllReadAndWriteOfOneRWMutex(t *testing.T) {
	var rw lockorder.RWMutex
	for _, order := range [][]lockorder.Locker{
		{lockorder.Read(&rw), &rw},
		{&rw, lockorder.Read(&rw)},
		{lockorder.Read(&rw), &rw, lockorder.Read(&rw)},
	} {
		lockorder.LockAll(order...)
		if rw.TryRLock() {
			t.Errorf("%d locks: a reader got in; want rw locked for writing", len(order))
			rw.RUnlock()
		}
		lockorder.UnlockAll(order...) // unlocked once, as locked: no panic
		if !rw.TryLock() {
			t.Fatalf("%d locks: rw still locked after UnlockAll", len(order))
		}
		rw.Unlock()
	}
}

func TestLockAllContextRWMutex(t *testing.T) {
	var rw lockorder.RWMutex
	var m lockorder.Mutex
	rw.Lock() // a writer holds it: a reader must wait
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := lockorder.LockAllContext(ctx, &m, lockorder.Read(&rw)); err == nil {
		t.Fatal("LockAllContext got a read lock held for writing")
	}
	if !m.TryLock() {
		t.Error("LockAllContext gave up but left the Mutex locked")
	}
	rw.Unlock()
}

func TestLockAllNilRWMutexPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("LockAll(Read(nil)) did not panic")
		}
	}()
	lockorder.LockAll(lockorder.Read(nil))
}

// An unnamed lock's events carry UnnamedLock, not a number that changes
// with the order locks are first used; its reports keep the number.
func TestUnnamedLockEventName(t *testing.T) {
	r := enable(t, -1)
	var a, b lockorder.RWMutex
	a.Name = "accounts"
	a.Lock()
	b.Lock()
	b.Unlock()
	a.Unlock()
	b.Lock()
	a.Lock() // inversion: the lock taken is the named one
	a.Unlock()
	b.Unlock()
	var c lockorder.Mutex
	c.Lock()
	b.Lock()
	b.Unlock()
	c.Unlock()
	b.Lock()
	c.Lock() // inversion: the lock taken is unnamed
	c.Unlock()
	b.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) != 2 || len(r.inversions) != 2 {
		t.Fatalf("%d events, %d inversions; want 2 and 2", len(r.events), len(r.inversions))
	}
	if r.events[0].Name != "accounts" || r.events[1].Name != lockorder.UnnamedLock {
		t.Errorf("event names %q, %q; want accounts, %q", r.events[0].Name, r.events[1].Name, lockorder.UnnamedLock)
	}
	if want := "Mutex#"; len(r.inversions[1].Lock) <= len(want) || r.inversions[1].Lock[:len(want)] != want {
		t.Errorf("report names the unnamed lock %q, want Mutex#<ID>", r.inversions[1].Lock)
	}
}
