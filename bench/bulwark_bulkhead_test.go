package bench

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark/bulkhead"
)

func newBulkhead(b *testing.B, n int) *bulkhead.Bulkhead {
	bh, err := bulkhead.New(bulkhead.Config{Name: "bench", MaxConcurrent: n})
	if err != nil {
		b.Fatal(err)
	}
	return bh
}

// bulwark is TryAcquire/Release; bulwark-acquire is Acquire(ctx)/Release.
func benchBulwarkBulkheadAcquireRelease(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		bh := newBulkhead(b, 10)
		b.ReportAllocs()
		for b.Loop() {
			if !bh.TryAcquire() {
				b.Fatal("full")
			}
			bh.Release()
		}
	})
	b.Run("bulwark-acquire", func(b *testing.B) {
		bh := newBulkhead(b, 10)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if err := bh.Acquire(ctx); err != nil {
				b.Fatal(err)
			}
			bh.Release()
		}
	})
}

func benchBulwarkBulkheadAcquireReleaseParallel(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		bh := newBulkhead(b, 1024)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !bh.TryAcquire() {
					b.Error("full")
					return
				}
				bh.Release()
			}
		})
	})
}
