package fallback

import (
	"context"
	"errors"
	"testing"

	"github.com/bulwark-go/bulwark"
)

func BenchmarkGetSuccess(b *testing.B) {
	f, _ := New(Config{Func: Value(0)})
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 1, nil }
	b.ReportAllocs()
	for b.Loop() {
		_, _ = bulwark.Get(ctx, f, fn)
	}
}

var errBench = errors.New("bench")

func BenchmarkGetFallback(b *testing.B) {
	f, _ := New(Config{Func: Value(0)})
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 0, errBench }
	b.ReportAllocs()
	for b.Loop() {
		_, _ = bulwark.Get(ctx, f, fn)
	}
}
