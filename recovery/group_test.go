package recovery_test

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/bulwark-go/bulwark/recovery"
)

func TestGo(t *testing.T) {
	want := errors.New("returned")
	tests := []struct {
		name  string
		fn    func() error
		check func(error) bool
	}{
		{"nil", func() error { return nil }, func(err error) bool { return err == nil }},
		{"error", func() error { return want }, func(err error) bool { return err == want }},
		{"panic", boom, func(err error) bool { return errors.Is(err, recovery.ErrPanic) }},
		{"goexit", func() error { runtime.Goexit(); return nil }, func(err error) bool { return err == recovery.ErrGoexit }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := recovery.Go(tt.fn)
			<-task.Done()
			if err := task.Wait(); !tt.check(err) {
				t.Fatalf("Wait() = %v", err)
			}
		})
	}
}

func TestReporterGo(t *testing.T) {
	s := new(sink)
	err := s.reporter("task").Go(boom).Wait()
	var pe *recovery.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("Wait() = %v, want a *PanicError", err)
	}
	s.checkReported(t, pe, "task")
}

func TestGroupReturnsFirstErrorAndCancels(t *testing.T) {
	tests := []struct {
		name    string
		failing func() error
		isPanic bool
	}{
		{"error", func() error { return errors.New("failed") }, false},
		{"panic", boom, true},
		{"goexit", func() error { runtime.Goexit(); return nil }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, ctx := recovery.WithContext(context.Background())
			g.Go(func() error {
				<-ctx.Done() // ends only because the other one failed
				return ctx.Err()
			})
			g.Go(tt.failing)
			err := g.Wait()
			if err == nil || errors.Is(err, context.Canceled) {
				t.Fatalf("Wait() = %v, want the failing goroutine's error", err)
			}
			if got := errors.Is(err, recovery.ErrPanic); got != tt.isPanic {
				t.Errorf("Wait() = %v: is a panic = %v, want %v", err, got, tt.isPanic)
			}
			if cause := context.Cause(ctx); cause != err {
				t.Errorf("context cause = %v, want %v", cause, err)
			}
		})
	}
}

func TestGroupZeroValue(t *testing.T) {
	var g recovery.Group
	var n atomic.Int32
	for range 10 {
		g.Go(func() error { n.Add(1); return nil })
	}
	if err := g.Wait(); err != nil || n.Load() != 10 {
		t.Fatalf("Wait() = %v after %d of 10 goroutines", err, n.Load())
	}
}

func TestGroupWaitCancelsContext(t *testing.T) {
	g, ctx := recovery.WithContext(context.Background())
	g.Go(func() error { return nil })
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() == nil {
		t.Fatal("context not cancelled after Wait")
	}
}

func TestGroupReporter(t *testing.T) {
	s := new(sink)
	g := &recovery.Group{Reporter: s.reporter("group")}
	g.Go(boom)
	err := g.Wait()
	var pe *recovery.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("Wait() = %v, want a *PanicError", err)
	}
	s.checkReported(t, pe, "group")
}

func TestGroupSetLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g recovery.Group
		g.SetLimit(2)
		release := make(chan struct{})
		var running, most atomic.Int32
		work := func() error {
			n := running.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			<-release
			running.Add(-1)
			return nil
		}
		g.Go(work)
		g.Go(work)
		synctest.Wait()
		if g.TryGo(work) {
			t.Error("TryGo started a third goroutine with a limit of 2")
		}
		started := make(chan struct{})
		go func() {
			g.Go(work) // blocks until a slot frees
			close(started)
		}()
		synctest.Wait()
		select {
		case <-started:
			t.Fatal("Go did not wait for a free slot")
		default:
		}
		close(release)
		<-started
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		if m := most.Load(); m != 2 {
			t.Errorf("at most %d ran at once, want 2", m)
		}
		if !g.TryGo(func() error { return nil }) {
			t.Error("TryGo refused with free slots")
		}
		g.Wait()
		g.SetLimit(-1)
		if !g.TryGo(func() error { return nil }) {
			t.Error("TryGo refused without a limit")
		}
		g.Wait()
	})
}

func TestGroupSetLimitPanics(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		f()
	}
	var g recovery.Group
	mustPanic("SetLimit(0)", func() { g.SetLimit(0) })
	g.SetLimit(1)
	release := make(chan struct{})
	g.Go(func() error { <-release; return nil })
	mustPanic("SetLimit while running", func() { g.SetLimit(3) })
	close(release)
	g.Wait()
}
