package bulwarkredis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisAddr is the Redis the tests use: a real server, on this machine and
// in CI.
const redisAddr = "127.0.0.1:6379"

// unreachableAddr refuses connections at once.
const unreachableAddr = "127.0.0.1:1"

// liveTimeout is LimiterConfig.Timeout in tests against a healthy Redis
// that are not about timeouts: the default 100 ms was outlasted on a
// loaded machine (go test -race of every module beside fuzzers), and the
// call was decided by the outage mode instead of Redis.
const liveTimeout = 5 * time.Second

// newClient returns a client of the test Redis, closed when the test ends.
// When Redis is unreachable the test fails in CI (CI=true) and is skipped
// elsewhere, saying how to start one.
func newClient(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: redisAddr, ContextTimeoutEnabled: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		if os.Getenv("CI") == "true" {
			tb.Fatalf("Redis at %s is unreachable (%v); CI must run one", redisAddr, err)
		}
		tb.Skipf("skipped: Redis at %s is unreachable (%v); start one with "+
			"`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no`", redisAddr, err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// clientTo returns a client of addr that is not checked, closed when the
// test ends.
func clientTo(tb testing.TB, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// testPrefix returns a key prefix unique to this run of the test, and
// deletes every key under it when the test ends.
func testPrefix(tb testing.TB, c *redis.Client) string {
	var id [6]byte
	_, _ = rand.Read(id[:])
	prefix := "bulwarktest:" + tb.Name() + ":" + hex.EncodeToString(id[:]) + ":"
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("cleaning up %s*: %v", prefix, err)
		}
	})
	return prefix
}

// silentServer returns the address of a server that accepts connections
// and never answers, stopped when the test ends.
func silentServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			cn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, cn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		for _, cn := range conns {
			cn.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}
