package ratelimit

import (
	"context"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
)

// The limiters are set high enough that every call is admitted: the
// benchmarks measure the bookkeeping of an admitted call.
const (
	benchRate  = MaxRate
	benchBurst = 1 << 30
)

func BenchmarkAllow(b *testing.B) {
	l, _ := New(Config{Rate: benchRate, Burst: benchBurst})
	b.ReportAllocs()
	for b.Loop() {
		if !l.Allow() {
			b.Fatal("refused")
		}
	}
}

func BenchmarkAllowParallel(b *testing.B) {
	l, _ := New(Config{Rate: benchRate, Burst: benchBurst})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !l.Allow() {
				b.Error("refused")
				return
			}
		}
	})
}

// BenchmarkAllowRefused: a limiter that refuses nearly everything.
func BenchmarkAllowRefused(b *testing.B) {
	l, _ := New(Config{Rate: 1})
	b.ReportAllocs()
	for b.Loop() {
		l.Allow()
	}
}

func BenchmarkAllowRefusedParallel(b *testing.B) {
	l, _ := New(Config{Rate: 1})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Allow()
		}
	})
}

// BenchmarkAllowAt leaves the clock out.
func BenchmarkAllowAt(b *testing.B) {
	l, _ := New(Config{Rate: benchRate, Burst: benchBurst})
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if !l.AllowAt(now) {
			b.Fatal("refused")
		}
		now = now.Add(time.Microsecond)
	}
}

func BenchmarkCheck(b *testing.B) {
	l, _ := New(Config{Rate: benchRate, Burst: benchBurst})
	b.ReportAllocs()
	for b.Loop() {
		if !l.Check().Allowed {
			b.Fatal("refused")
		}
	}
}

func BenchmarkExecute(b *testing.B) {
	l, _ := New(Config{Rate: benchRate, Burst: benchBurst})
	ctx := context.Background()
	op := bulwark.OperationFunc(func(context.Context) (any, error) { return nil, nil })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Execute(ctx, op); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnlimited(b *testing.B) {
	l, _ := New(Config{Rate: math.Inf(1)})
	b.ReportAllocs()
	for b.Loop() {
		l.Allow()
	}
}

// BenchmarkClock is the floor: the clock read every Allow makes.
func BenchmarkClock(b *testing.B) {
	c := clock{base: time.Now()}
	var sink uint64
	for b.Loop() {
		sink += c.now()
	}
	_ = sink
}

// BenchmarkAllowKeyKnown: one of 1000 known keys.
func BenchmarkAllowKeyKnown(b *testing.B) {
	k, _ := NewKeyed(KeyedConfig{Config: Config{Rate: benchRate, Burst: benchBurst}})
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "client-" + strconv.Itoa(i)
		k.AllowKey(keys[i])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k.AllowKey(keys[i%len(keys)])
		i++
	}
}

func BenchmarkAllowKeyKnownParallel(b *testing.B) {
	k, _ := NewKeyed(KeyedConfig{Config: Config{Rate: benchRate, Burst: benchBurst}})
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "client-" + strconv.Itoa(i)
		k.AllowKey(keys[i])
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			k.AllowKey(keys[i%len(keys)])
			i++
		}
	})
}

// BenchmarkAllowKeyNew: every call a key never seen, with the limiter full,
// so each call also forgets a key.
func BenchmarkAllowKeyNew(b *testing.B) {
	k, _ := NewKeyed(KeyedConfig{Config: Config{Rate: 1, Burst: 5}, MaxKeys: 1000})
	buf := make([]byte, 0, 16)
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf = strconv.AppendInt(buf[:0], int64(i), 36)
		k.AllowKeyN(string(buf), now, 1)
		i++
	}
}
