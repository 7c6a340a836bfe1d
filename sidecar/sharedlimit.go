package sidecar

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/bulwarkredis"
	"github.com/redis/go-redis/v9"
)

// redisOutages maps rate_limit.redis.outage to bulwarkredis's modes.
var redisOutages = map[string]bulwarkredis.Outage{
	"":       bulwarkredis.OutageLocal,
	"local":  bulwarkredis.OutageLocal,
	"open":   bulwarkredis.OutageOpen,
	"closed": bulwarkredis.OutageClosed,
}

// redisConn is what a route's Redis client is made from: a route whose
// rate_limit.redis block resolves to the same keeps its client on a
// reload.
type redisConn struct {
	addr, username, password string
	db                       int
}

// redisClient is a route's Redis client. It is closed when a reload drops
// or changes the route's Redis settings, and by Server.Close.
type redisClient struct {
	conn   redisConn
	c      *redis.Client
	once   sync.Once
	closed atomic.Bool
}

// resolveRedis reads the connection settings of a redis block, the
// password from its environment variable.
func resolveRedis(r *RedisLimitConfig, getenv func(string) string) (redisConn, error) {
	conn := redisConn{addr: r.Addr, username: r.Username, db: r.DB}
	if r.PasswordEnv != "" {
		conn.password = getenv(r.PasswordEnv)
		if conn.password == "" {
			return conn, fmt.Errorf("redis.password_env: environment variable %s is not set or empty", r.PasswordEnv)
		}
	}
	return conn, nil
}

// newRedisClient returns a client of conn that keeps the deadline of each
// call's context (ContextTimeoutEnabled), so that bulwarkredis makes its
// calls on the request's goroutine. It does not connect yet.
func newRedisClient(conn redisConn) *redisClient {
	return &redisClient{conn: conn, c: redis.NewClient(&redis.Options{
		Addr: conn.addr, Username: conn.username, Password: conn.password, DB: conn.db,
		ContextTimeoutEnabled: true,
	})}
}

// close closes the client's connections; it may be called more than once.
func (c *redisClient) close() {
	if c == nil {
		return
	}
	c.once.Do(func() {
		c.closed.Store(true)
		_ = c.c.Close()
	})
}

// reusable reports whether c may serve a route whose settings resolve to
// conn.
func (c *redisClient) reusable(conn redisConn) bool {
	return c != nil && !c.closed.Load() && c.conn == conn
}

// sharedLimiterConfig returns the bulwarkredis.LimiterConfig of a route's
// rate_limit block with a redis block.
func sharedLimiterConfig(name string, r *RateLimitConfig, onError func(error), obs bulwark.Observer) bulwarkredis.LimiterConfig {
	rd := r.Redis
	return bulwarkredis.LimiterConfig{
		Name: name, Rate: r.Rate, Burst: r.Burst, Prefix: rd.KeyPrefix,
		Timeout: rd.Timeout, Outage: redisOutages[rd.Outage], Replicas: rd.Replicas,
		Lease: rd.Lease, LeaseTTL: rd.LeaseTTL, OnError: onError, Observer: obs,
	}
}

// redisErrorLog returns a LimiterConfig.OnError that logs a route's Redis
// failures: the first at once, then at most one line every interval with
// the count of those not logged, so that an outage at thousands of
// requests per second does not flood the log.
func redisErrorLog(log *slog.Logger, route string, interval time.Duration) func(error) {
	var (
		mu      sync.Mutex
		last    time.Time
		skipped int
	)
	return func(err error) {
		mu.Lock()
		now := time.Now()
		if !last.IsZero() && now.Sub(last) < interval {
			skipped++
			mu.Unlock()
			return
		}
		n := skipped
		last, skipped = now, 0
		mu.Unlock()
		log.Warn("rate limit: redis did not decide; rate_limit.redis.outage did", "route", route, "err", err, "not_logged", n)
	}
}

// redisLogInterval is the least time between two log lines of a route's
// Redis failures.
const redisLogInterval = 10 * time.Second

var osGetenv = os.Getenv
