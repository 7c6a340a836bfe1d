package bulwarkredis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/redis/go-redis/v9"
)

// Outage says what a [Limiter] decides for a call Redis did not decide:
// Redis unreachable, frozen, answering too slowly or with an error, or
// known to be down by the Limiter's breaker around Redis.
type Outage uint8

const (
	// OutageLocal, the default, limits each replica on its own while Redis
	// is out, at the shared rate divided by LimiterConfig.Replicas (and
	// the burst likewise, at least 1), per key. With Replicas right, the
	// fleet as a whole keeps about its limit; the local buckets start full,
	// so each key may see one extra burst per replica when the outage
	// starts.
	OutageLocal Outage = iota
	// OutageOpen admits every such call: an outage of Redis does not
	// become an outage of the service, and no limit holds meanwhile.
	OutageOpen
	// OutageClosed refuses every such call: the limit is never exceeded,
	// and an outage of Redis stops what the limiter guards.
	OutageClosed
)

// String returns "local", "open" or "closed".
func (o Outage) String() string {
	switch o {
	case OutageLocal:
		return "local"
	case OutageOpen:
		return "open"
	case OutageClosed:
		return "closed"
	}
	return fmt.Sprintf("Outage(%d)", uint8(o))
}

// Defaults of the breaker a Limiter keeps around Redis (LimiterConfig.RedisBreaker).
const (
	// DefaultRedisFailures is how many Redis failures in a row open the
	// breaker around Redis.
	DefaultRedisFailures = 3
	// DefaultRedisWait is how long the breaker around Redis stays open
	// before one call probes Redis again: with the defaults, shared
	// limiting resumes at most Timeout + this long + a round trip after
	// Redis is back.
	DefaultRedisWait = 250 * time.Millisecond
)

// defaultRedisBreaker returns the configuration of the breaker around Redis
// when LimiterConfig.RedisBreaker is nil.
func defaultRedisBreaker(name string) breaker.Config {
	return breaker.Config{
		Name:          "redis:" + name,
		Window:        breaker.WindowConsecutive,
		WindowSize:    DefaultRedisFailures,
		WaitDuration:  DefaultRedisWait,
		HalfOpenCalls: 1,
	}
}

// trustsDeadlines reports whether client applies a context's deadline to
// every step of a call (go-redis does with Options.ContextTimeoutEnabled:
// the socket's read and write deadlines, the pool's wait, the dial), so
// that a call may run on the caller's goroutine. Otherwise a frozen server
// holds a call for the client's ReadTimeout (3 s by default) whatever the
// context says, and the call runs on a goroutine of its own.
func trustsDeadlines(client any) bool {
	switch c := client.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	}
	return false
}

// bounded runs f with a context that ends after timeout, or at ctx's
// deadline if sooner, and returns when f does or that context ends,
// whichever comes first. Unless direct (see trustsDeadlines), f runs on a
// goroutine of its own, which may outlive the call until the client's own
// timeouts end it.
func bounded(ctx context.Context, timeout time.Duration, direct bool, f func(context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if direct {
		err := f(cctx)
		if err != nil && cctx.Err() != nil {
			return cctx.Err()
		}
		return err
	}
	done := make(chan error, 1)
	go func() { done <- f(cctx) }()
	select {
	case err := <-done:
		return err
	case <-cctx.Done():
		return cctx.Err()
	}
}

// callerGaveUp reports whether a failed call is the caller's doing: ctx
// cancelled (not merely past its deadline).
func callerGaveUp(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.Canceled)
}
