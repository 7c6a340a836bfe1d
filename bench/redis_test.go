package bench

// Redis-backed rate limiting: bulwarkredis against
// github.com/go-redis/redis_rate/v10, in the same run against the same
// Redis (127.0.0.1:6379; CI starts one). Each benchmark uses its own keys
// under a limit nothing reaches, so every call is admitted, and reports
// the Redis round trips it made per 1000 calls.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/bulwarkredis"
	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

const benchRedis = "127.0.0.1:6379"

// countHook counts the commands a client sends: one per round trip here
// (no pipelines).
type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

// redisClient returns a client of the benchmark Redis with counted round
// trips, and a key unique to this benchmark run. Without Redis the
// benchmark fails in CI (CI=true) and is skipped elsewhere.
//
// The client has ContextTimeoutEnabled, which bulwarkredis's docs ask for
// (without it each call runs on a goroutine of its own: see
// BenchmarkRedisAllow/bulwark-goroutine); redis_rate does not care.
func redisClient(b *testing.B) (*redis.Client, *countHook, string) {
	b.Helper()
	c := redis.NewClient(&redis.Options{Addr: benchRedis, PoolSize: 128, ContextTimeoutEnabled: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		if os.Getenv("CI") == "true" {
			b.Fatalf("Redis at %s is unreachable (%v); CI must run one", benchRedis, err)
		}
		b.Skipf("skipped: Redis at %s is unreachable: %v", benchRedis, err)
	}
	var id [6]byte
	_, _ = rand.Read(id[:])
	key := "bench:" + hex.EncodeToString(id[:])
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c.Del(ctx, "bulwark:ratelimit:bench:"+key, "rate:"+key)
		_ = c.Close()
	})
	h := &countHook{}
	c.AddHook(h)
	return c, h, key
}

// A limit nothing in a benchmark reaches: every call is admitted.
const (
	benchRate  = 1e8
	benchBurst = 1_000_000
)

func bulwarkLimiter(b *testing.B, c *redis.Client, lease int) *bulwarkredis.Limiter {
	lim, err := bulwarkredis.NewLimiter(c, bulwarkredis.LimiterConfig{
		Name: "bench", Rate: benchRate, Burst: benchBurst, Lease: lease, Timeout: time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	return lim
}

func reportTrips(b *testing.B, h *countHook, start int64) {
	b.ReportMetric(float64(h.n.Load()-start)*1000/float64(b.N), "roundtrips/1000calls")
}

// BenchmarkRedisAllow is one goroutine's Allow latency (and throughput on
// one key): bulwarkredis without and with leasing (Lease 100), and
// redis_rate.
func BenchmarkRedisAllow(b *testing.B) {
	ctx := context.Background()
	for _, lease := range []int{0, 100, -1} {
		name := "bulwark"
		switch lease {
		case 100:
			name = "bulwark-lease100"
		case -1:
			name = "bulwark-goroutine" // a client without ContextTimeoutEnabled
		}
		b.Run(name, func(b *testing.B) {
			c, h, key := redisClient(b)
			n := lease
			if n == -1 {
				c.Options().ContextTimeoutEnabled = false
				n = 0
			}
			lim := bulwarkLimiter(b, c, n)
			if _, err := lim.Allow(ctx, key); err != nil { // loads the script
				b.Fatal(err)
			}
			start := h.n.Load()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d, err := lim.Allow(ctx, key)
				if err != nil || !d.Allowed {
					b.Fatal(d, err)
				}
			}
			b.StopTimer()
			reportTrips(b, h, start)
		})
	}
	b.Run("redis_rate", func(b *testing.B) {
		c, h, key := redisClient(b)
		lim := redis_rate.NewLimiter(c)
		limit := redis_rate.Limit{Rate: benchBurst, Burst: benchBurst, Period: time.Second / 100}
		if _, err := lim.Allow(ctx, key, limit); err != nil {
			b.Fatal(err)
		}
		start := h.n.Load()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r, err := lim.Allow(ctx, key, limit)
			if err != nil || r.Allowed != 1 {
				b.Fatal(r, err)
			}
		}
		b.StopTimer()
		reportTrips(b, h, start)
	})
}

// BenchmarkRedisAllowHotKey64 is throughput with 64 goroutines on one key:
// bulwarkredis without and with leasing (Lease 100), and redis_rate.
func BenchmarkRedisAllowHotKey64(b *testing.B) {
	ctx := context.Background()
	par := max(1, 64/runtime.GOMAXPROCS(0))
	run := func(b *testing.B, h *countHook, allow func() bool) {
		start := h.n.Load()
		b.SetParallelism(par)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !allow() {
					b.Error("refused")
					return
				}
			}
		})
		b.StopTimer()
		reportTrips(b, h, start)
	}
	for _, lease := range []int{0, 100} {
		name := "bulwark"
		if lease > 0 {
			name = "bulwark-lease100"
		}
		b.Run(name, func(b *testing.B) {
			c, h, key := redisClient(b)
			lim := bulwarkLimiter(b, c, lease)
			if _, err := lim.Allow(ctx, key); err != nil {
				b.Fatal(err)
			}
			run(b, h, func() bool { d, err := lim.Allow(ctx, key); return err == nil && d.Allowed })
		})
	}
	b.Run("redis_rate", func(b *testing.B) {
		c, h, key := redisClient(b)
		lim := redis_rate.NewLimiter(c)
		limit := redis_rate.Limit{Rate: benchBurst, Burst: benchBurst, Period: time.Second / 100}
		if _, err := lim.Allow(ctx, key, limit); err != nil {
			b.Fatal(err)
		}
		run(b, h, func() bool { r, err := lim.Allow(ctx, key, limit); return err == nil && r.Allowed == 1 })
	})
}
