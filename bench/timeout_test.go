package bench

import (
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/timeout"
)

// BenchmarkTimeout: a 1 s timeout around a call that returns at once.
func BenchmarkTimeout(b *testing.B) {
	benchBulwarkTimeout(b)
	b.Run("failsafe", func(b *testing.B) {
		ex := failsafe.With[int](timeout.New[int](time.Second))
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
