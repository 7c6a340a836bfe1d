package bulkhead

import (
	"context"
	"testing"
)

// InUse and Available follow acquisitions, releases and changes of
// capacity, without taking or counting anything.
func TestInUseAndAvailable(t *testing.T) {
	b := mustNew(t, Config{MaxConcurrent: 3})
	check := func(step string, inUse, avail int) {
		t.Helper()
		if got := b.InUse(); got != inUse {
			t.Errorf("%s: InUse() = %d, want %d", step, got, inUse)
		}
		if got := b.Available(); got != avail {
			t.Errorf("%s: Available() = %d, want %d", step, got, avail)
		}
	}
	check("new", 0, 3)
	if err := b.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.TryAcquire()
	check("two held", 2, 1)
	if err := b.SetCapacity(1); err != nil {
		t.Fatal(err)
	}
	check("shrunk below the permits held", 2, 0)
	b.Release()
	check("one released", 1, 0)
	b.Release()
	check("all released", 0, 1)
	if err := b.SetCapacity(5); err != nil {
		t.Fatal(err)
	}
	check("grown", 0, 5)
	if s := b.Snapshot(); s.Acquired != 2 || s.Rejected != 0 {
		t.Errorf("Snapshot %+v: the accessors must count nothing", s)
	}
}
