package bulkhead

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/eventlog"
)

func mustNew(t *testing.T, cfg Config) *Bulkhead {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"zero capacity", Config{}, "Config.MaxConcurrent is 0"},
		{"negative capacity", Config{MaxConcurrent: -1}, "Config.MaxConcurrent is -1"},
		{"capacity too large", Config{MaxConcurrent: MaxCapacity + 1}, "Config.MaxConcurrent"},
		{"negative wait", Config{MaxConcurrent: 1, MaxWait: -time.Second}, "Config.MaxWait is -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New(%+v) = %v, %v; want an error containing %q", tt.cfg, b, err, tt.want)
			}
		})
	}
	if _, err := New(Config{MaxConcurrent: MaxCapacity, MaxWait: WaitForever}); err != nil {
		t.Fatalf("largest capacity: %v", err)
	}
}

func TestRejectsWhenFull(t *testing.T) {
	rec := &eventlog.Recorder{}
	b := mustNew(t, Config{Name: "db", MaxConcurrent: 2, Observer: rec})
	ctx := context.Background()
	for range 2 {
		if err := b.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ran := false
	_, err := b.Execute(ctx, bulwark.OperationFunc(func(context.Context) (any, error) {
		ran = true
		return nil, nil
	}))
	if ran {
		t.Error("Execute ran the operation on a full bulkhead")
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("err = %v, want ErrFull", err)
	}
	var fe *FullError
	if !errors.As(err, &fe) || fe.Name != "db" || fe.Capacity != 2 {
		t.Fatalf("err = %#v, want *FullError{db, 2}", err)
	}
	if got, want := err.Error(), `bulkhead "db": full (2 concurrent calls)`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if b.TryAcquire() {
		t.Fatal("TryAcquire on a full bulkhead succeeded")
	}
	b.Release()
	v, err := bulwark.Get(ctx, b, func(context.Context) (int, error) { return 7, nil })
	if v != 7 || err != nil {
		t.Fatalf("after a release: %v, %v; want 7, nil", v, err)
	}
	b.Release()
	got := b.Snapshot()
	want := Snapshot{Capacity: 2, InUse: 0, Waiting: 0, Acquired: 3, Rejected: 2}
	if got != want {
		t.Errorf("Snapshot() = %+v, want %+v", got, want)
	}
	wantKinds := []bulwark.Kind{bulwark.KindRejected, bulwark.KindRejected, bulwark.KindCall}
	if got := rec.Kinds(); !slices.Equal(got, wantKinds) {
		t.Errorf("events %v, want %v", got, wantKinds)
	}
	for _, e := range rec.Events() {
		if e.Policy != "bulkhead" || e.Name != "db" {
			t.Errorf("event %+v: want Policy bulkhead, Name db", e)
		}
		if e.Kind == bulwark.KindRejected && !errors.Is(e.Err, ErrFull) {
			t.Errorf("rejection event Err = %v, want ErrFull", e.Err)
		}
	}
}

func TestFullErrorWithoutName(t *testing.T) {
	err := &FullError{Capacity: 3}
	if got, want := err.Error(), "bulkhead: full (3 concurrent calls)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestExecuteReleasesOnPanic(t *testing.T) {
	b := mustNew(t, Config{MaxConcurrent: 1})
	for _, obs := range []bulwark.Observer{nil, &eventlog.Recorder{}} {
		b.obs = obs
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Fatalf("recovered %v, want boom", r)
				}
			}()
			_, _ = b.Execute(context.Background(), bulwark.OperationFunc(func(context.Context) (any, error) {
				panic("boom")
			}))
		}()
		if got := b.Snapshot().InUse; got != 0 {
			t.Fatalf("observer %v: InUse after a panic = %d, want 0", obs, got)
		}
	}
}

func TestCallOutcomes(t *testing.T) {
	rec := &eventlog.Recorder{}
	b := mustNew(t, Config{MaxConcurrent: 1, Observer: rec})
	fail := errors.New("fail")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = bulwark.Run(context.Background(), b, func(context.Context) error { return nil })
	_ = bulwark.Run(context.Background(), b, func(context.Context) error { return fail })
	_ = bulwark.Run(ctx, b, func(ctx context.Context) error { return ctx.Err() })
	want := []bulwark.Outcome{bulwark.OutcomeSuccess, bulwark.OutcomeFailure, bulwark.OutcomeIgnored}
	var got []bulwark.Outcome
	for _, e := range rec.Events() {
		if e.Kind != bulwark.KindCall {
			t.Fatalf("unexpected event %+v", e)
		}
		got = append(got, e.Outcome)
	}
	if !slices.Equal(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
}

func TestReleaseWithoutAcquirePanics(t *testing.T) {
	b := mustNew(t, Config{MaxConcurrent: 1})
	defer func() {
		if r := recover(); r != errUnbalanced {
			t.Fatalf("recovered %v, want %q", r, errUnbalanced)
		}
	}()
	b.Release()
}

func TestNoAllocations(t *testing.T) {
	b := mustNew(t, Config{MaxConcurrent: 4})
	ctx := context.Background()
	op := bulwark.OperationFunc(func(context.Context) (any, error) { return nil, nil })
	tests := map[string]func(){
		"Acquire/Release": func() {
			if b.Acquire(ctx) != nil {
				t.Fatal("refused")
			}
			b.Release()
		},
		"TryAcquire/Release": func() {
			if !b.TryAcquire() {
				t.Fatal("refused")
			}
			b.Release()
		},
		"Execute": func() { _, _ = b.Execute(ctx, op) },
		"rejection": func() {
			for range 4 {
				b.TryAcquire()
			}
			if _, err := b.Execute(ctx, op); err == nil {
				t.Fatal("admitted")
			}
			for range 4 {
				b.Release()
			}
		},
	}
	for name, f := range tests {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
}

// waiters starts n goroutines that each Acquire b, one at a time so that
// they queue in order. Each sends its index on admitted once it has a
// permit, holds the permit until release(i) is called, and sends its
// Acquire error on exited when it finishes. Waiters not yet released are
// released when the test ends. Call inside a synctest bubble.
func waiters(t *testing.T, b *Bulkhead, ctx context.Context, n int) (admitted <-chan int, release func(i int), exited <-chan error) {
	t.Helper()
	adm := make(chan int, n)
	ex := make(chan error, n)
	done := make([]chan struct{}, n)
	closed := make([]bool, n)
	release = func(i int) {
		if !closed[i] {
			closed[i] = true
			close(done[i])
		}
	}
	t.Cleanup(func() {
		for i := range n {
			release(i)
		}
	})
	for i := range n {
		done[i] = make(chan struct{})
		go func() {
			err := b.Acquire(ctx)
			if err == nil {
				adm <- i
				<-done[i]
				b.Release()
			}
			ex <- err
		}()
		synctest.Wait()
	}
	return adm, release, ex
}

func TestWaitersAreServedFirstInFirstOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Config{MaxConcurrent: 1, MaxWait: WaitForever})
		if !b.TryAcquire() {
			t.Fatal("refused")
		}
		const n = 8
		admitted, release, exited := waiters(t, b, context.Background(), n)
		if got := b.Snapshot().Waiting; got != n {
			t.Fatalf("Waiting = %d, want %d", got, n)
		}
		b.Release()
		var order []int
		for range n {
			synctest.Wait()
			i := <-admitted
			order = append(order, i)
			// A newcomer must not barge in ahead of the queue: the permit
			// goes from holder to the next waiter directly.
			if len(order) < n && b.TryAcquire() {
				t.Fatalf("TryAcquire got a permit ahead of %d waiters", n-len(order))
			}
			release(i)
		}
		for range n {
			if err := <-exited; err != nil {
				t.Fatal(err)
			}
		}
		want := []int{0, 1, 2, 3, 4, 5, 6, 7}
		if !slices.Equal(order, want) {
			t.Fatalf("admission order %v, want %v", order, want)
		}
		if s := b.Snapshot(); s.InUse != 0 || s.Waiting != 0 || s.Acquired != n+1 || s.Rejected != n-1 {
			t.Fatalf("Snapshot %+v, want nothing in use or waiting, %d acquired, %d rejected", s, n+1, n-1)
		}
	})
}

func TestMaxWaitRejectsAfterTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &eventlog.Recorder{}
		b := mustNew(t, Config{Name: "api", MaxConcurrent: 1, MaxWait: 100 * time.Millisecond, Observer: rec})
		if !b.TryAcquire() {
			t.Fatal("refused")
		}
		start := time.Now()
		err := b.Acquire(context.Background())
		if !errors.Is(err, ErrFull) {
			t.Fatalf("Acquire = %v, want ErrFull", err)
		}
		if got := time.Since(start); got != 100*time.Millisecond {
			t.Errorf("rejected after %v, want 100ms", got)
		}
		if s := b.Snapshot(); s.InUse != 1 || s.Waiting != 0 || s.Rejected != 1 {
			t.Errorf("Snapshot %+v, want 1 in use, 0 waiting, 1 rejected", s)
		}
		// A waiter admitted after 30ms reports the wait.
		go func() {
			time.Sleep(30 * time.Millisecond)
			b.Release()
		}()
		if err := b.Acquire(context.Background()); err != nil {
			t.Fatalf("Acquire = %v, want a permit after 30ms", err)
		}
		b.Release()
		want := []bulwark.Kind{bulwark.KindRejected, bulwark.KindWait}
		if got := rec.Kinds(); !slices.Equal(got, want) {
			t.Fatalf("events %v, want %v", got, want)
		}
		if d := rec.Events()[1].Delay; d != 30*time.Millisecond {
			t.Errorf("KindWait Delay = %v, want 30ms", d)
		}
	})
}

func TestWaitEndsWithTheContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &eventlog.Recorder{}
		b := mustNew(t, Config{MaxConcurrent: 1, MaxWait: time.Hour, Observer: rec})
		if !b.TryAcquire() {
			t.Fatal("refused")
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		if err := b.Acquire(ctx); err != context.DeadlineExceeded {
			t.Fatalf("Acquire = %v, want context.DeadlineExceeded", err)
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("returned after %v, want 1s", got)
		}

		ctx, cancel = context.WithCancel(context.Background())
		_, _, exited := waiters(t, b, ctx, 3)
		cancel()
		for range 3 {
			if err := <-exited; err != context.Canceled {
				t.Fatalf("Acquire = %v, want context.Canceled", err)
			}
		}
		// A context already done does not queue.
		if err := b.Acquire(ctx); err != context.Canceled {
			t.Fatalf("Acquire = %v, want context.Canceled", err)
		}
		if s := b.Snapshot(); s.InUse != 1 || s.Waiting != 0 || s.Rejected != 0 {
			t.Errorf("Snapshot %+v, want 1 in use, 0 waiting, 0 rejected (cancellation is no rejection)", s)
		}
		if rec.Len() != 0 {
			t.Errorf("events %+v, want none", rec.Events())
		}
		// The queue is intact: the next waiter gets the permit.
		admitted, release, exited := waiters(t, b, context.Background(), 1)
		b.Release()
		<-admitted
		release(0)
		if err := <-exited; err != nil {
			t.Fatal(err)
		}
		if s := b.Snapshot(); s.InUse != 0 {
			t.Errorf("InUse = %d, want 0", s.InUse)
		}
	})
}

// A permit handed over at the instant the wait ends must be neither lost
// nor counted twice, whichever way the race goes.
func TestGrantRacingTheEndOfTheWait(t *testing.T) {
	for _, mode := range []string{"MaxWait", "context"} {
		t.Run(mode, func(t *testing.T) {
			for range 20 {
				synctest.Test(t, func(t *testing.T) {
					b := mustNew(t, Config{MaxConcurrent: 1, MaxWait: time.Second})
					ctx := context.Background()
					if mode == "context" {
						b = mustNew(t, Config{MaxConcurrent: 1, MaxWait: WaitForever})
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, time.Second)
						defer cancel()
					}
					if !b.TryAcquire() {
						t.Fatal("refused")
					}
					go func() {
						time.Sleep(time.Second)
						b.Release()
					}()
					err := b.Acquire(ctx)
					synctest.Wait()
					want := 0
					if err == nil {
						want = 1
						defer b.Release()
					}
					if s := b.Snapshot(); s.InUse != want || s.Waiting != 0 {
						t.Fatalf("Acquire = %v; Snapshot %+v, want InUse %d, nobody waiting", err, s, want)
					}
				})
			}
		})
	}
}

// A waiter whose context ends just before a permit is handed to it passes
// the permit on instead of leaking it.
func TestCancelledWaiterPassesAGrantOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Config{MaxConcurrent: 1, MaxWait: WaitForever})
		if !b.TryAcquire() {
			t.Fatal("refused")
		}
		ctx, cancel := context.WithCancel(context.Background())
		_, _, exited := waiters(t, b, ctx, 1)
		admitted, release, exitedNext := waiters(t, b, context.Background(), 1)
		// Under the lock, so the first waiter wakes for the cancellation and
		// then finds the permit already granted.
		b.mu.Lock()
		cancel()
		if !b.releaseLocked() {
			t.Fatal("releaseLocked found no permit")
		}
		b.mu.Unlock()
		if err := <-exited; err != context.Canceled {
			t.Fatalf("first waiter: %v, want context.Canceled", err)
		}
		synctest.Wait()
		if got := drain(admitted); !slices.Equal(got, []int{0}) {
			t.Fatalf("second waiter admitted %v, want [0]", got)
		}
		if s := b.Snapshot(); s.InUse != 1 || s.Waiting != 0 {
			t.Fatalf("Snapshot %+v, want the permit with the second waiter", s)
		}
		release(0)
		if err := <-exitedNext; err != nil {
			t.Fatal(err)
		}
		if s := b.Snapshot(); s.InUse != 0 {
			t.Fatalf("InUse = %d, want 0", s.InUse)
		}
	})
}

func TestShrinkLetsHoldersFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Config{MaxConcurrent: 4, MaxWait: WaitForever})
		for range 4 {
			if !b.TryAcquire() {
				t.Fatal("refused")
			}
		}
		admitted, release, exited := waiters(t, b, context.Background(), 2)
		if err := b.SetCapacity(2); err != nil {
			t.Fatal(err)
		}
		if s := b.Snapshot(); s.Capacity != 2 || s.InUse != 4 || s.Waiting != 2 {
			t.Fatalf("after shrinking: %+v, want capacity 2, 4 in use, 2 waiting", s)
		}
		for i, wantInUse := range []int{3, 2} {
			b.Release()
			synctest.Wait()
			if len(admitted) != 0 {
				t.Fatalf("release %d admitted a waiter with %d in use over capacity 2", i+1, wantInUse)
			}
			if got := b.Snapshot().InUse; got != wantInUse {
				t.Fatalf("InUse = %d, want %d", got, wantInUse)
			}
		}
		b.Release() // 1 in use now: room for the first waiter
		synctest.Wait()
		if got := drain(admitted); !slices.Equal(got, []int{0}) {
			t.Fatalf("admitted %v, want [0]", got)
		}
		if s := b.Snapshot(); s.InUse != 2 || s.Waiting != 1 {
			t.Fatalf("Snapshot %+v, want 2 in use, 1 waiting", s)
		}
		b.Release()
		synctest.Wait()
		if got := drain(admitted); !slices.Equal(got, []int{1}) {
			t.Fatalf("admitted %v, want [1]", got)
		}
		release(0)
		release(1)
		for range 2 {
			<-exited
		}
		if s := b.Snapshot(); s.InUse != 0 || s.Waiting != 0 || s.Capacity != 2 {
			t.Fatalf("Snapshot %+v, want nothing in use or waiting, capacity 2", s)
		}
	})
}

func TestGrowAdmitsWaitersInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Config{MaxConcurrent: 1, MaxWait: WaitForever})
		if !b.TryAcquire() {
			t.Fatal("refused")
		}
		admitted, release, exited := waiters(t, b, context.Background(), 4)
		if err := b.SetCapacity(3); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		// Both are granted at once, in queue order; which goroutine runs
		// first is up to the scheduler, so compare sets.
		if got := sorted(drain(admitted)); !slices.Equal(got, []int{0, 1}) {
			t.Fatalf("admitted %v, want [0 1]", got)
		}
		if s := b.Snapshot(); s.Capacity != 3 || s.InUse != 3 || s.Waiting != 2 {
			t.Fatalf("Snapshot %+v, want capacity 3, 3 in use, 2 waiting", s)
		}
		if err := b.SetCapacity(10); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := sorted(drain(admitted)); !slices.Equal(got, []int{2, 3}) {
			t.Fatalf("admitted %v, want [2 3]", got)
		}
		if s := b.Snapshot(); s.InUse != 5 || s.Waiting != 0 {
			t.Fatalf("Snapshot %+v, want 5 in use, nobody waiting", s)
		}
		// With nobody queued, the fast path is back.
		if !b.TryAcquire() {
			t.Fatal("TryAcquire refused with room")
		}
		b.Release()
		b.Release()
		for i := range 4 {
			release(i)
		}
		for range 4 {
			if err := <-exited; err != nil {
				t.Fatal(err)
			}
		}
		if err := b.SetCapacity(1); err != nil {
			t.Fatal(err)
		}
		var fe *FullError
		if err := b.Acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer b.Release()
		b.maxWait = 0
		if err := b.Acquire(context.Background()); !errors.As(err, &fe) || fe.Capacity != 1 {
			t.Fatalf("Acquire = %v, want a *FullError with the new capacity 1", err)
		}
	})
}

func TestSetCapacityRejectsBadValues(t *testing.T) {
	b := mustNew(t, Config{MaxConcurrent: 3})
	for _, n := range []int{0, -1, MaxCapacity + 1} {
		if err := b.SetCapacity(n); err == nil || !strings.Contains(err.Error(), "capacity is") {
			t.Errorf("SetCapacity(%d) = %v, want an error", n, err)
		}
	}
	if got := b.Snapshot().Capacity; got != 3 {
		t.Errorf("Capacity = %d after rejected changes, want 3", got)
	}
}

// Many goroutines take and give back permits while the capacity keeps
// changing. No more than the largest capacity ever run at once, no permit
// is lost or counted twice, and at the end the bulkhead is empty.
func TestConcurrentUseWhileCapacityChanges(t *testing.T) {
	const (
		goroutines = 16
		calls      = 300
		maxCap     = 6
	)
	b := mustNew(t, Config{MaxConcurrent: 3, MaxWait: WaitForever})
	var running, peak, ok atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var changer sync.WaitGroup
	changer.Go(func() {
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := b.SetCapacity(1 + n%maxCap); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(50 * time.Microsecond)
		}
	})
	for g := range goroutines {
		wg.Go(func() {
			ctx := context.Background()
			for i := range calls {
				var err error
				switch (g + i) % 3 {
				case 0:
					err = b.Acquire(ctx)
				case 1:
					if !b.TryAcquire() {
						continue
					}
				case 2:
					c, cancel := context.WithTimeout(ctx, 20*time.Microsecond)
					err = b.Acquire(c)
					cancel()
					if err != nil {
						continue
					}
				}
				if err != nil {
					t.Error(err)
					return
				}
				ok.Add(1)
				r := running.Add(1)
				for {
					p := peak.Load()
					if r <= p || peak.CompareAndSwap(p, r) {
						break
					}
				}
				running.Add(-1)
				b.Release()
			}
		})
	}
	wg.Wait()
	close(stop)
	changer.Wait()
	if p := peak.Load(); p > maxCap {
		t.Errorf("%d calls ran at once; the capacity never exceeded %d", p, maxCap)
	}
	s := b.Snapshot()
	if s.InUse != 0 || s.Waiting != 0 {
		t.Errorf("Snapshot %+v, want nothing in use or waiting", s)
	}
	if s.Acquired != uint64(ok.Load()) {
		t.Errorf("Acquired = %d, want %d", s.Acquired, ok.Load())
	}
}

func TestConcurrencyNeverExceedsCapacity(t *testing.T) {
	const capacity = 4
	b := mustNew(t, Config{MaxConcurrent: capacity, MaxWait: WaitForever})
	var running atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 200 {
				err := bulwark.Run(context.Background(), b, func(context.Context) error {
					if r := running.Add(1); r > capacity {
						t.Errorf("%d calls running, capacity %d", r, capacity)
					}
					running.Add(-1)
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if s := b.Snapshot(); s.InUse != 0 || s.Acquired != 16*200 || s.Rejected != 0 {
		t.Errorf("Snapshot %+v, want 0 in use, 3200 acquired, 0 rejected", s)
	}
}

// drain returns what ch holds now, without waiting.
func drain(ch <-chan int) []int {
	var got []int
	for {
		select {
		case i := <-ch:
			got = append(got, i)
		default:
			return got
		}
	}
}

func sorted(s []int) []int {
	slices.Sort(s)
	return s
}
