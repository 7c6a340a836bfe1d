package retry

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark"
)

type passThrough struct{}

func (passThrough) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	return op.Call(ctx)
}

func succeed(context.Context) (int, error) { return 1, nil }

func BenchmarkExecuteSuccess(b *testing.B) {
	r, _ := New(Config{})
	op := bulwark.OperationFunc(func(context.Context) (any, error) { return nil, nil })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = r.Execute(ctx, op)
	}
}

func BenchmarkGetSuccess(b *testing.B) {
	r, _ := New(Config{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = bulwark.Get(ctx, r, succeed)
	}
}

func BenchmarkGetSuccessObserved(b *testing.B) {
	r, _ := New(Config{Observer: bulwark.ObserverFunc(func(bulwark.Event) {}),
		OnRetry: func(context.Context, Event) {}, IsRetryable: func(error) bool { return true }})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = bulwark.Get(ctx, r, succeed)
	}
}

func BenchmarkGetSuccessMaxElapsed(b *testing.B) {
	r, _ := New(Config{MaxElapsed: 1e9})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = bulwark.Get(ctx, r, succeed)
	}
}

func BenchmarkGetSuccessBudget(b *testing.B) {
	bg, _ := NewBudget(BudgetConfig{})
	r, _ := New(Config{Budget: bg})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = bulwark.Get(ctx, r, succeed)
	}
}

func BenchmarkGetSuccessParallel(b *testing.B) {
	r, _ := New(Config{})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = bulwark.Get(ctx, r, succeed)
		}
	})
}

// Through a chain with a second policy: the chain's one allocation only.
func BenchmarkChainGetSuccess(b *testing.B) {
	r, _ := New(Config{})
	p := bulwark.Chain(r, passThrough{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = bulwark.Get(ctx, p, succeed)
	}
}

// One failure, one immediate retry that succeeds: the slow path.
func BenchmarkGetOneRetry(b *testing.B) {
	r, _ := New(Config{Backoff: Constant{}})
	ctx := context.Background()
	b.ReportAllocs()
	fail := true
	fn := func(context.Context) (int, error) {
		fail = !fail
		if !fail {
			return 0, errBench
		}
		return 1, nil
	}
	for b.Loop() {
		_, _ = bulwark.Get(ctx, r, fn)
	}
}

var errBench = benchError{}

type benchError struct{}

func (benchError) Error() string { return "bench" }
