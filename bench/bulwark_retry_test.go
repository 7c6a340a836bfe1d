package bench

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/retry"
)

// newRetry returns bulwark's retry with its defaults (3 attempts,
// exponential backoff from 100 ms).
func newRetry(b *testing.B) *retry.Retry {
	r, err := retry.New(retry.Config{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func benchBulwarkRetrySuccess(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		r := newRetry(b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			v, err := bulwark.Get(ctx, r, opInt)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
}

func benchBulwarkRetrySuccessStruct(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		r := newRetry(b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			v, err := bulwark.Get(ctx, r, opPayload)
			if err != nil {
				b.Fatal(err)
			}
			sinkPayload = v
		}
	})
}

func benchBulwarkRetrySuccessParallel(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		r := newRetry(b)
		ctx := context.Background()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := bulwark.Get(ctx, r, opInt); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
