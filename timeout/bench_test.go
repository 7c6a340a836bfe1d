package timeout

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
)

func succeed(context.Context) (int, error) { return 1, nil }

func BenchmarkGetSuccess(b *testing.B) {
	t, _ := New(Config{Duration: time.Second})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = bulwark.Get(ctx, t, succeed)
	}
}

func BenchmarkGetSuccessDetached(b *testing.B) {
	t, _ := New(Config{Duration: time.Second, Detached: true})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = bulwark.Get(ctx, t, succeed)
	}
}

func BenchmarkGetSuccessParallel(b *testing.B) {
	t, _ := New(Config{Duration: time.Second})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = bulwark.Get(ctx, t, succeed)
		}
	})
}

// Under a caller deadline that comes first, the policy adds nothing.
func BenchmarkGetSuccessCallerDeadlineFirst(b *testing.B) {
	t, _ := New(Config{Duration: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = bulwark.Get(ctx, t, succeed)
	}
}
