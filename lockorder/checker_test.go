package lockorder_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/lockorder"
)

// reports collects what the checker reports.
type reports struct {
	mu         sync.Mutex
	inversions []*lockorder.InversionError
	longWaits  []*lockorder.LongWaitError
	events     []bulwark.Event
	log        bytes.Buffer
}

func (r *reports) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.Write(p)
}

func (r *reports) Observe(e bulwark.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *reports) counts() (inversions, longWaits, events int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.inversions), len(r.longWaits), len(r.events)
}

func (r *reports) logText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

// enable turns the checker on for the test, reporting to a new reports.
func enable(t *testing.T, longWait time.Duration) *reports {
	t.Helper()
	r := new(reports)
	err := lockorder.EnableChecker(lockorder.CheckerConfig{
		OnInversion: func(e *lockorder.InversionError) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.inversions = append(r.inversions, e)
		},
		LongWait: longWait,
		OnLongWait: func(e *lockorder.LongWaitError) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.longWaits = append(r.longWaits, e)
		},
		Logger:   slog.New(slog.NewTextHandler(r, nil)),
		Observer: r,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lockorder.DisableChecker)
	return r
}

// The naive transfer, run one way and then the other on one goroutine (so
// it cannot deadlock), is reported the first time the second order occurs.
func TestCheckerReportsNaiveTransfer(t *testing.T) {
	r := enable(t, -1)
	a, b := &account{balance: 100}, &account{balance: 100}
	a.mu.Name, b.mu.Name = "alice", "bob"
	naiveTransfer(a, b, 10)
	if len(r.inversions) != 0 {
		t.Fatalf("reported %d inversions after one order only", len(r.inversions))
	}
	naiveTransfer(b, a, 10)
	if len(r.inversions) != 1 {
		t.Fatalf("reported %d inversions, want 1", len(r.inversions))
	}
	e := r.inversions[0]
	if e.Lock != "alice" || e.Held != "bob" || len(e.Earlier) != 1 ||
		e.Earlier[0].First != "alice" || e.Earlier[0].Then != "bob" {
		t.Errorf("inversion %+v: want alice locked while holding bob, after alice then bob", e)
	}
	if !errors.Is(e, lockorder.ErrInversion) {
		t.Error("errors.Is(e, ErrInversion) = false")
	}
	for name, stack := range map[string][]byte{"Stack": e.Stack, "HeldStack": e.HeldStack,
		"Earlier.Stack": e.Earlier[0].Stack, "Earlier.FirstStack": e.Earlier[0].FirstStack} {
		if !bytes.Contains(stack, []byte("lockorder_test.naiveTransfer")) {
			t.Errorf("%s does not show naiveTransfer:\n%s", name, stack)
		}
		if bytes.Contains(stack, []byte("lockorder.(*Mutex)")) {
			t.Errorf("%s shows the checker's own frames:\n%s", name, stack)
		}
	}
	if !strings.Contains(e.Error(), `locks "alice" while holding "bob"`) {
		t.Errorf("Error() = %q", e.Error())
	}

	// Reported once: doing it again says nothing new.
	naiveTransfer(a, b, 10)
	naiveTransfer(b, a, 10)
	if len(r.inversions) != 1 {
		t.Fatalf("reported %d inversions after repeating, want 1", len(r.inversions))
	}
	if len(r.events) != 1 || r.events[0].Kind != lockorder.KindInversion || r.events[0].Policy != "lockorder" ||
		r.events[0].Name != "alice" || r.events[0].Err != e || !bytes.Equal(r.events[0].Stack, e.Stack) {
		t.Errorf("events = %+v, want one KindInversion for alice", r.events)
	}
	log := r.logText()
	for _, want := range []string{"level=ERROR", "lock order inversion", "earlier_stack=", "naiveTransfer"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if s := lockorder.CheckerStats(); !s.Enabled || s.Inversions != 1 || s.Pairs != 2 || s.Held != 0 {
		t.Errorf("CheckerStats() = %+v, want enabled, 1 inversion, 2 pairs, nothing held", s)
	}
}

func TestCheckerQuietOnOrderedTransfer(t *testing.T) {
	r := enable(t, -1)
	accounts := newBank(4, 100)
	for i := range accounts {
		for j := range accounts {
			transfer(accounts[i], accounts[j], 1)
			transfer(accounts[j], accounts[i], 1)
		}
	}
	if len(r.inversions) != 0 || r.logText() != "" {
		t.Fatalf("ordered transfers reported %d inversions: %s", len(r.inversions), r.logText())
	}
	if s := lockorder.CheckerStats(); s.Pairs != 6 {
		t.Errorf("recorded %d pairs among 4 accounts, want 6", s.Pairs)
	}
}

// A before B, B before C, then C before A: a cycle through three locks.
func TestCheckerReportsThreeLockCycle(t *testing.T) {
	r := enable(t, -1)
	var a, b, c lockorder.Mutex
	a.Name, b.Name, c.Name = "A", "B", "C"
	pair := func(first, then *lockorder.Mutex) {
		first.Lock()
		then.Lock()
		then.Unlock()
		first.Unlock()
	}
	pair(&a, &b)
	pair(&b, &c)
	if len(r.inversions) != 0 {
		t.Fatal("reported an inversion too early")
	}
	pair(&c, &a)
	if len(r.inversions) != 1 {
		t.Fatalf("reported %d inversions, want 1", len(r.inversions))
	}
	e := r.inversions[0]
	if e.Lock != "A" || e.Held != "C" || len(e.Earlier) != 2 || e.Earlier[0].First != "A" ||
		e.Earlier[0].Then != "B" || e.Earlier[1].Then != "C" {
		t.Errorf("inversion %+v, want A while holding C after A then B then C", e)
	}
	if !strings.Contains(e.Error(), `earlier "A" then "B" then "C"`) {
		t.Errorf("Error() = %q", e.Error())
	}
}

// The checker sees the order across goroutines, and read locks count.
func TestCheckerAcrossGoroutinesAndReadLocks(t *testing.T) {
	r := enable(t, -1)
	var a lockorder.RWMutex
	var b lockorder.Mutex
	a.Name, b.Name = "config", "cache"
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.RLock()
		b.Lock()
		b.Unlock()
		a.RUnlock()
	}()
	<-done
	b.Lock()
	a.Lock()
	a.Unlock()
	b.Unlock()
	if len(r.inversions) != 1 || r.inversions[0].Lock != "config" {
		t.Fatalf("inversions %v, want one on config", r.inversions)
	}
	if r.inversions[0].Earlier[0].Goroutine == r.inversions[0].Goroutine {
		t.Error("the two orders are attributed to the same goroutine")
	}
}

func TestCheckerIgnoresTryLock(t *testing.T) {
	r := enable(t, -1)
	var a, b lockorder.Mutex
	a.Lock()
	b.Lock()
	b.Unlock()
	a.Unlock()
	b.Lock()
	if !a.TryLock() { // cannot wait, so cannot deadlock
		t.Fatal("TryLock failed")
	}
	a.Unlock()
	b.Unlock()
	if len(r.inversions) != 0 {
		t.Fatalf("TryLock reported as an inversion: %v", r.inversions[0])
	}
	// But a lock taken while holding a TryLock'ed one is an order.
	if !b.TryLock() {
		t.Fatal("TryLock failed")
	}
	a.Lock()
	a.Unlock()
	b.Unlock()
	if len(r.inversions) != 1 {
		t.Fatalf("reported %d inversions, want 1", len(r.inversions))
	}
}

// A mutex unlocked by another goroutine than the one that locked it is
// no longer counted as held by the first.
func TestCheckerUnlockElsewhere(t *testing.T) {
	r := enable(t, -1)
	var a, b lockorder.Mutex
	a.Lock()
	done := make(chan struct{})
	go func() { a.Unlock(); close(done) }()
	<-done
	b.Lock() // a is not held any more: no order a-b
	b.Unlock()
	a.Lock()
	a.Unlock()
	b.Lock()
	a.Lock()
	a.Unlock()
	b.Unlock()
	if len(r.inversions) != 0 || lockorder.CheckerStats().Held != 0 {
		t.Fatalf("inversions %v, stats %+v", r.inversions, lockorder.CheckerStats())
	}
}

//go:noinline
func holdLock(mu *lockorder.Mutex) { mu.Lock() }

func TestCheckerReportsLongWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := enable(t, time.Second)
		var mu lockorder.Mutex
		mu.Name = "db"
		holdLock(&mu)
		done := make(chan struct{})
		go func() {
			mu.Lock()
			mu.Unlock()
			close(done)
		}()
		time.Sleep(time.Second - time.Nanosecond)
		synctest.Wait()
		if _, n, _ := r.counts(); n != 0 {
			t.Fatal("reported before the threshold")
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if _, n, _ := r.counts(); n != 1 {
			t.Fatalf("reported %d long waits, want 1", n)
		}
		r.mu.Lock()
		e, ev := r.longWaits[0], r.events[0]
		r.mu.Unlock()
		if e.Lock != "db" || e.Waited != time.Second || len(e.Holders) != 1 {
			t.Fatalf("long wait %+v, want db, 1s, one holder", e)
		}
		if !bytes.Contains(e.Holders[0].Stack, []byte("lockorder_test.holdLock")) {
			t.Errorf("holder's stack does not show holdLock:\n%s", e.Holders[0].Stack)
		}
		if e.Holders[0].Goroutine == e.Goroutine || e.Holders[0].Since.IsZero() {
			t.Errorf("holder %+v vs waiter %d", e.Holders[0], e.Goroutine)
		}
		if !errors.Is(e, lockorder.ErrLongWait) || !strings.Contains(e.Error(), `waited 1s for "db"`) {
			t.Errorf("Error() = %q", e.Error())
		}
		if _, _, n := r.counts(); n != 1 || ev.Kind != lockorder.KindLongWait || ev.Delay != time.Second ||
			!bytes.Equal(ev.Stack, e.Holders[0].Stack) {
			t.Errorf("events %+v, want one KindLongWait with the holder's stack", r.events)
		}
		if log := r.logText(); !strings.Contains(log, "holder_stack=") || !strings.Contains(log, "level=ERROR") {
			t.Errorf("log lacks the holder's stack:\n%s", log)
		}
		// Once per wait: waiting on says nothing more.
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if _, n, _ := r.counts(); n != 1 {
			t.Fatalf("reported %d long waits, want still 1", n)
		}
		mu.Unlock()
		<-done
	})
}

func TestCheckerOffReportsNothing(t *testing.T) {
	if lockorder.BuildChecked {
		t.Log("built with lockorder_check: the checker cannot be off; checking that DisableChecker forgets instead")
	}
	r := enable(t, -1)
	lockorder.DisableChecker()
	a, b := &account{}, &account{}
	naiveTransfer(a, b, 1)
	naiveTransfer(b, a, 1)
	if len(r.inversions) != 0 {
		t.Fatal("the disabled checker reported")
	}
	if s := lockorder.CheckerStats(); s.Enabled != lockorder.BuildChecked {
		t.Errorf("Stats.Enabled = %v, want %v", s.Enabled, lockorder.BuildChecked)
	}
}

func TestCheckerMaxPairs(t *testing.T) {
	r := new(reports)
	if err := lockorder.EnableChecker(lockorder.CheckerConfig{MaxPairs: -1}); err == nil ||
		!strings.Contains(err.Error(), "MaxPairs") {
		t.Fatalf("EnableChecker(MaxPairs: -1) = %v, want an error naming MaxPairs", err)
	}
	err := lockorder.EnableChecker(lockorder.CheckerConfig{MaxPairs: 1, Logger: slog.New(slog.NewTextHandler(r, nil)),
		OnInversion: func(*lockorder.InversionError) { t.Error("inversion reported beyond MaxPairs") }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lockorder.DisableChecker)
	var a, b, c lockorder.Mutex
	lockorder.LockAll(&a, &b, &c) // pairs a-b (recorded), a-c and b-c (not)
	lockorder.UnlockAll(&a, &b, &c)
	c.Lock()
	a.Lock()
	a.Unlock()
	c.Unlock()
	if s := lockorder.CheckerStats(); s.Pairs != 1 || !s.Full {
		t.Errorf("CheckerStats() = %+v, want 1 pair, full", s)
	}
	if n := strings.Count(r.logText(), "records no more"); n != 1 {
		t.Errorf("warned %d times about MaxPairs, want once:\n%s", n, r.logText())
	}
}
