package adaptive

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark"
)

// BenchmarkAcquireRelease takes a place and reports the call done,
// uncontended: the two-step form's whole cost.
func BenchmarkAcquireRelease(b *testing.B) {
	l, _ := New(Config{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		t, err := l.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		t.OnSuccess()
	}
}

func BenchmarkAcquireReleaseParallel(b *testing.B) {
	l, _ := New(Config{MaxLimit: 10000, InitialLimit: 10000})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t, err := l.Acquire(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			t.Done(nil)
		}
	})
}

func BenchmarkExecute(b *testing.B) {
	l, _ := New(Config{})
	ctx := context.Background()
	op := bulwark.OperationFunc(func(context.Context) (any, error) { return nil, nil })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Execute(ctx, op); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkShed is the cost of refusing a call.
func BenchmarkShed(b *testing.B) {
	l, _ := New(Config{Algorithm: AIMD{}, InitialLimit: 1, MaxLimit: 1})
	ctx := context.Background()
	held, _ := l.Acquire(ctx)
	defer held.OnIgnore()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Acquire(ctx); err == nil {
			b.Fatal("admitted")
		}
	}
}
