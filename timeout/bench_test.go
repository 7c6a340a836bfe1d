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

// An operation that waits on ctx arms a timer, as it would without the
// lazy context.
func BenchmarkGetWaitsOnDone(b *testing.B) {
	t, _ := New(Config{Duration: time.Second})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = bulwark.Get(ctx, t, func(ctx context.Context) (int, error) {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			default:
				return 1, nil
			}
		})
	}
}

// The same under a cancellable caller context, as a server's request has.
func BenchmarkGetWaitsOnDoneCancelableCaller(b *testing.B) {
	t, _ := New(Config{Duration: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = bulwark.Get(ctx, t, func(ctx context.Context) (int, error) {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			default:
				return 1, nil
			}
		})
	}
}
