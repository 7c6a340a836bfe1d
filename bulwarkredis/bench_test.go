package bulwarkredis

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// The cost of a distributed decision against the local Redis: one EVALSHA
// round trip. ops/s is for the whole benchmark (all goroutines).

func BenchmarkAllow(b *testing.B) {
	c := newClient(b)
	lim, err := NewLimiter(c, LimiterConfig{Rate: MaxRate, Burst: 1000, Prefix: testPrefix(b, c), Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lim.Allow(ctx, "k"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// Many goroutines, a key each, over the client's connection pool.
func BenchmarkAllowParallel(b *testing.B) {
	c := newClient(b)
	lim, err := NewLimiter(c, LimiterConfig{Rate: MaxRate, Burst: 1000, Prefix: testPrefix(b, c), Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		key := "k" + strconv.FormatInt(next.Add(1), 10)
		for pb.Next() {
			if _, err := lim.Allow(ctx, key); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
