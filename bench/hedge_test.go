package bench

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/hedgepolicy"
)

// BenchmarkHedgeNoHedge: a hedging policy with a 1 s delay around a call
// that returns at once, so no hedge is ever started. Both libraries run
// the attempt on a goroutine of its own.
func BenchmarkHedgeNoHedge(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		h, err := hedge.New(hedge.Config{Name: "bench", Delay: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			v, err := bulwark.Get(ctx, h, opInt)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
	b.Run("failsafe", func(b *testing.B) {
		ex := failsafe.With[int](hedgepolicy.NewWithDelay[int](time.Second))
		b.ReportAllocs()
		for b.Loop() {
			v, err := ex.Get(plainInt)
			if err != nil {
				b.Fatal(err)
			}
			sinkInt = v
		}
	})
}
