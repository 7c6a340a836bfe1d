package recovery_test

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/recovery"
)

func TestPolicy(t *testing.T) {
	s := new(sink)
	p, err := recovery.New(recovery.Config{Name: "db", OnPanic: s.handle, Logger: s.reporter("").Logger, Observer: s})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "db" {
		t.Errorf("Name() = %q", p.Name())
	}
	ctx := context.Background()

	n, err := bulwark.Get(ctx, p, func(context.Context) (int, error) { return 3, nil })
	if n != 3 || err != nil {
		t.Fatalf("Get = %d, %v; want 3, nil", n, err)
	}
	n, err = bulwark.Get(ctx, p, func(context.Context) (int, error) { return 0, boom() })
	var pe *recovery.PanicError
	if n != 0 || !errors.As(err, &pe) {
		t.Fatalf("Get = %d, %v; want 0 and a *PanicError", n, err)
	}
	s.checkReported(t, pe, "db")
	if got := p.Snapshot(); got != (recovery.Snapshot{Name: "db", Panics: 1}) {
		t.Errorf("Snapshot() = %+v", got)
	}
	if p.Reporter().Name != "db" {
		t.Errorf("Reporter().Name = %q", p.Reporter().Name)
	}
}

// A retry around the recovery sees the panic as an ordinary error.
func TestPolicyInChain(t *testing.T) {
	p, _ := recovery.New(recovery.Config{})
	attempts := 0
	var twice bulwark.Policy = policyFunc(func(ctx context.Context, op bulwark.Operation) (any, error) {
		v, err := op.Call(ctx)
		if err != nil {
			return op.Call(ctx)
		}
		return v, err
	})
	got, err := bulwark.Get(context.Background(), bulwark.Chain(twice, p), func(context.Context) (string, error) {
		attempts++
		if attempts == 1 {
			panic("first attempt")
		}
		return "second", nil
	})
	if got != "second" || err != nil || attempts != 2 {
		t.Fatalf("Get = %q, %v after %d attempts; want second, nil after 2", got, err, attempts)
	}
}

func TestPolicyLetsGoexitThrough(t *testing.T) {
	p, _ := recovery.New(recovery.Config{})
	after := make(chan bool, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		bulwark.Run(context.Background(), p, func(context.Context) error { runtime.Goexit(); return nil })
		after <- true
	}()
	<-done
	if len(after) != 0 || p.Snapshot().Panics != 0 {
		t.Fatal("Goexit was stopped or counted as a panic")
	}
}

type policyFunc func(ctx context.Context, op bulwark.Operation) (any, error)

func (f policyFunc) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	return f(ctx, op)
}

func BenchmarkExecute(b *testing.B) {
	p, _ := recovery.New(recovery.Config{})
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 1, nil }
	b.ReportAllocs()
	for b.Loop() {
		bulwark.Get(ctx, p, fn)
	}
}

func BenchmarkDo(b *testing.B) {
	fn := func() error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		recovery.Do(fn)
	}
}
