package bulwarkredis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/redis/go-redis/v9"
)

// allowance is the scheduling slack a timing property on a frozen Redis
// gets on a loaded 2-core machine.
const allowance = 50 * time.Millisecond

// fault is a way for Redis to go out, and to come back.
type fault struct {
	name string
	// start puts Redis out; it returns the address clients use.
	start func(t *testing.T) (addr string, out, back func())
}

var faults = []fault{
	{"freeze", func(t *testing.T) (string, func(), func()) {
		s := startServer(t)
		return s.addr, s.freeze, s.thaw
	}},
	{"kill", func(t *testing.T) (string, func(), func()) {
		s := startServer(t)
		return s.addr, s.kill, nil
	}},
	{"blackhole", func(t *testing.T) (string, func(), func()) {
		s := startServer(t)
		p := newProxy(t, s.addr)
		return p.addr(), func() { p.blackhole(true) }, func() { p.blackhole(false) }
	}},
}

// warm makes one call that Redis decides, so that the script is loaded and
// a connection is open before the fault.
func warm(t *testing.T, lim *Limiter) {
	t.Helper()
	ctx := ctxFor(t, 5*time.Second)
	if err := gcraScript.Load(ctx, lim.client).Err(); err != nil {
		t.Fatalf("loading the script: %v", err)
	}
	if _, err := lim.Allow(ctx, "warm-up"); err != nil {
		t.Fatalf("warm-up call: %v", err)
	}
}

// Item 1: with go-redis's default options (ContextTimeoutEnabled false,
// ReadTimeout 3 s) and with ContextTimeoutEnabled, no call waits past the
// caller's deadline or Timeout, whichever is first, on a frozen Redis.
func TestLimiterHardDeadline(t *testing.T) {
	for _, ctxTimeouts := range []bool{false, true} {
		t.Run(fmt.Sprintf("ContextTimeoutEnabled=%v", ctxTimeouts), func(t *testing.T) {
			s := startServer(t)
			c := redis.NewClient(&redis.Options{Addr: s.addr, ContextTimeoutEnabled: ctxTimeouts})
			t.Cleanup(func() { _ = c.Close() })
			const timeout = 100 * time.Millisecond
			lim, err := NewLimiter(c, LimiterConfig{Name: "api", Rate: 1, Timeout: timeout, Outage: OutageOpen,
				RedisBreaker: &breaker.Config{Window: breaker.WindowConsecutive, WindowSize: 100}})
			if err != nil {
				t.Fatal(err)
			}
			warm(t, lim)
			s.freeze()
			for _, deadline := range []time.Duration{0, 30 * time.Millisecond, 60 * time.Millisecond, 500 * time.Millisecond} {
				ctx := context.Background()
				bound := timeout
				if deadline > 0 {
					ctx = ctxFor(t, deadline)
					bound = min(deadline, timeout)
				}
				start := time.Now()
				d, err := lim.Allow(ctx, "k")
				el := time.Since(start)
				if el > bound+allowance {
					t.Errorf("deadline %v: Allow took %v on a frozen Redis; want at most %v (+%v)", deadline, el, bound, allowance)
				}
				if !d.Allowed || !errors.Is(err, ErrUnavailable) {
					t.Errorf("deadline %v: %+v, %v; want admitted (OutageOpen) with an unavailable error", deadline, d, err)
				}
			}
		})
	}
}

// Item 2: a caller whose deadline is shorter than Timeout gets the outage
// mode's decision, not its context's error and a refusal.
func TestLimiterShortDeadlineFailsOpen(t *testing.T) {
	s := startServer(t)
	lim, err := NewLimiter(s.client(t), LimiterConfig{Rate: 1, Timeout: time.Second, Outage: OutageOpen})
	if err != nil {
		t.Fatal(err)
	}
	warm(t, lim)
	s.freeze()
	admitted := 0
	for range 5 {
		d, err := lim.Allow(ctxFor(t, 20*time.Millisecond), "k")
		var ue *UnavailableError
		if !errors.As(err, &ue) {
			t.Errorf("Allow: %v; want an *UnavailableError", err)
		}
		if d.Allowed {
			admitted++
		}
	}
	if admitted != 5 {
		t.Errorf("%d of 5 short-deadline calls admitted with OutageOpen; want all", admitted)
	}
	// The caller's own cancellation is still its own.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if d, err := lim.Allow(ctx, "k"); d.Allowed || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %+v, %v; want refused with context.Canceled", d, err)
	}
}

// Item 3: once the breaker around Redis is open, a call costs one local
// decision and no round trip; shared limiting resumes within the breaker's
// wait once Redis is back.
func TestLimiterRedisBreaker(t *testing.T) {
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			addr, out, back := f.start(t)
			c := clientTo(t, addr)
			const wait, timeout = 200 * time.Millisecond, 100 * time.Millisecond
			lim, err := NewLimiter(c, LimiterConfig{Rate: 1000, Burst: 1000, Timeout: timeout, Outage: OutageOpen,
				RedisBreaker: &breaker.Config{Window: breaker.WindowConsecutive, WindowSize: 2, WaitDuration: wait, HalfOpenCalls: 1}})
			if err != nil {
				t.Fatal(err)
			}
			warm(t, lim)
			out()
			for range 2 { // two failures open the breaker
				_, _ = lim.Allow(context.Background(), "k")
			}
			if st := lim.Snapshot().RedisBreaker; st != breaker.StateOpen {
				t.Fatalf("breaker around Redis %v after two failures; want open", st)
			}
			start := time.Now()
			const calls = 1000
			for range calls {
				d, err := lim.Allow(context.Background(), "k")
				if !d.Allowed || !errors.Is(err, breaker.ErrOpen) || !errors.Is(err, ErrUnavailable) {
					t.Fatalf("with the breaker open: %+v, %v", d, err)
				}
			}
			if el := time.Since(start); el > allowance {
				t.Errorf("%d calls took %v with the breaker around Redis open; want local decisions", calls, el)
			}
			if back == nil {
				return // a killed Redis does not come back
			}
			back()
			resumed := time.Now()
			deadline := resumed.Add(5 * time.Second)
			for {
				if _, err := lim.Allow(context.Background(), "k"); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("shared limiting did not resume in 5 s")
				}
				time.Sleep(time.Millisecond)
			}
			// The bound: a probe in flight when Redis came back (at most
			// Timeout), the breaker's wait, and the next probe's round trip.
			if el := time.Since(resumed); el > timeout+wait+allowance {
				t.Errorf("shared limiting resumed %v after Redis was back; want within Timeout + the breaker's wait, %v (+%v)", el, timeout+wait, allowance)
			}
		})
	}
}

// Item 4: each outage mode through each fault. Limit: 4 at once, one per
// 100 s, shared by 2 replicas: locally each admits 2.
func TestLimiterOutageModes(t *testing.T) {
	for _, f := range faults {
		for _, mode := range []Outage{OutageLocal, OutageOpen, OutageClosed} {
			t.Run(f.name+"/"+mode.String(), func(t *testing.T) {
				addr, out, _ := f.start(t)
				var reported atomic.Int32
				lim, err := NewLimiter(clientTo(t, addr), LimiterConfig{Rate: 0.01, Burst: 4, Replicas: 2, Outage: mode,
					Timeout: 50 * time.Millisecond, OnError: func(err error) {
						if errors.Is(err, ErrUnavailable) {
							reported.Add(1)
						}
					}})
				if err != nil {
					t.Fatal(err)
				}
				warm(t, lim)
				out()
				admitted := 0
				const calls = 10
				for range calls {
					d, err := lim.Allow(context.Background(), "k")
					if !errors.Is(err, ErrUnavailable) {
						t.Errorf("Allow during the outage: %v; want an unavailable error", err)
					}
					if d.Allowed {
						admitted++
					}
				}
				want := map[Outage]int{OutageLocal: 2, OutageOpen: calls, OutageClosed: 0}[mode]
				if admitted != want {
					t.Errorf("%d of %d calls admitted; want %d", admitted, calls, want)
				}
				if got := reported.Load(); got != calls {
					t.Errorf("OnError told of %d failures, want %d", got, calls)
				}
				if s := lim.Snapshot(); s.Unavailable != calls {
					t.Errorf("snapshot %+v; want %d unavailable", s, calls)
				}
			})
		}
	}
}

// Item 5: a key holding garbage or another type is a fault told to
// OnError; it is overwritten and the call decided.
func TestLimiterCorruptKey(t *testing.T) {
	c := newClient(t)
	prefix := testPrefix(t, c)
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		set  func(key string) error
	}{
		{"garbage", func(k string) error { return c.Set(ctx, k, "garbage", 0).Err() }},
		{"overflow", func(k string) error { return c.Set(ctx, k, "99999999999999999999999:0", 0).Err() }},
		{"list", func(k string) error { return c.RPush(ctx, k, "x").Err() }},
		{"hash", func(k string) error { return c.HSet(ctx, k, "f", "v").Err() }},
	} {
		for _, mode := range []Outage{OutageOpen, OutageClosed} {
			t.Run(tt.name+"/"+mode.String(), func(t *testing.T) {
				var faults []error
				var mu sync.Mutex
				lim, err := NewLimiter(c, LimiterConfig{Name: "api", Rate: 0.01, Burst: 2, Prefix: prefix + tt.name + mode.String() + ":",
					Outage: mode, OnError: func(err error) { mu.Lock(); faults = append(faults, err); mu.Unlock() }})
				if err != nil {
					t.Fatal(err)
				}
				if err := tt.set(lim.prefix + "k"); err != nil {
					t.Fatal(err)
				}
				var got []bool
				for range 3 {
					d, err := lim.Allow(ctx, "k")
					if err != nil {
						t.Errorf("Allow: %v; want Redis's decision", err)
					}
					got = append(got, d.Allowed)
				}
				if fmt.Sprint(got) != "[true true false]" {
					t.Errorf("decisions %v; want a fresh burst of 2, then a refusal", got)
				}
				mu.Lock()
				defer mu.Unlock()
				var se *StateError
				if len(faults) != 1 || !errors.As(faults[0], &se) || se.Key != lim.prefix+"k" {
					t.Errorf("OnError heard %v; want one *StateError naming the key", faults)
				}
				if s := lim.Snapshot(); s.Faults != 1 {
					t.Errorf("snapshot counts %d faults, want 1", s.Faults)
				}
			})
		}
	}
}

// roundTrips counts the commands a client sends.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.n.Add(1); return next(ctx, cmd) }
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.n.Add(1); return next(ctx, cmds) }
}

// countedClient returns a client of the test Redis whose round trips are
// counted.
func countedClient(t *testing.T) (*redis.Client, *roundTrips) {
	c := newClient(t)
	var rt roundTrips
	c.AddHook(&rt)
	return c, &rt
}

// Item 11: once Redis refused a key until T, calls for it are refused
// locally until T.
func TestLimiterRefusalCache(t *testing.T) {
	c, rt := countedClient(t)
	prefix := testPrefix(t, c)
	lim, err := NewLimiter(c, LimiterConfig{Rate: 0.01, Burst: 1, Prefix: prefix, Timeout: liveTimeout})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if d, _ := lim.Allow(ctx, "k"); !d.Allowed {
		t.Fatal("first call refused")
	}
	d, _ := lim.Allow(ctx, "k")
	if d.Allowed || d.RetryAfter < 90*time.Second {
		t.Fatalf("second call: %+v; want refused for about 100 s", d)
	}
	before := rt.n.Load()
	for range 2000 {
		d, err := lim.Allow(ctx, "k")
		if d.Allowed || err != nil || d.RetryAfter < 90*time.Second || d.RetryAfter > 100*time.Second {
			t.Fatalf("cached refusal: %+v, %v", d, err)
		}
	}
	if n := rt.n.Load() - before; n != 0 {
		t.Errorf("2000 refusals made %d round trips; want 0", n)
	}
	if s := lim.Snapshot(); s.Cached != 2000 || s.Rejected != 2001 {
		t.Errorf("snapshot %+v", s)
	}
	// Another key, and a per-call limit on the same key, still ask Redis.
	if d, _ := lim.Allow(ctx, "other"); !d.Allowed {
		t.Error("another key refused")
	}
	if d, _ := lim.AllowLimit(ctx, "k", Limit{Rate: 0.01, Burst: 5}, 1); !d.Allowed {
		t.Error("a larger per-call limit on the same key refused from the cache")
	}
	// Reset forgets the refusal.
	if err := lim.Reset(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if d, _ := lim.Allow(ctx, "k"); !d.Allowed {
		t.Error("refused after Reset")
	}
}

// Item 13: a limit per call, AllowAtMost and Reset.
func TestLimiterPerCallLimitAtMostReset(t *testing.T) {
	c := newClient(t)
	prefix := testPrefix(t, c)
	lim, err := NewLimiter(c, LimiterConfig{Rate: 0.01, Burst: 1, Prefix: prefix, Timeout: liveTimeout})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var got []bool
	for range 4 {
		d, err := lim.AllowLimit(ctx, "k", PerMinute(3), 1)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d.Allowed)
	}
	if fmt.Sprint(got) != "[true true true false]" {
		t.Errorf("AllowLimit(PerMinute(3)): %v", got)
	}
	if _, err := lim.AllowLimit(ctx, "k", Limit{Rate: -1}, 1); err == nil || !contains(err.Error(), "Rate") {
		t.Errorf("AllowLimit with a negative rate: %v; want an error naming Rate", err)
	}

	lim5, err := NewLimiter(c, LimiterConfig{Rate: 0.01, Burst: 5, Prefix: prefix + "atmost:", Timeout: liveTimeout})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ ask, want, remaining int }{{3, 3, 2}, {3, 2, 0}, {3, 0, 0}} {
		n, d, err := lim5.AllowAtMost(ctx, "k", tt.ask)
		if err != nil || n != tt.want || d.Allowed != (tt.want > 0) || d.Remaining != tt.remaining {
			t.Errorf("AllowAtMost(%d) = %d, %+v, %v; want %d, remaining %d", tt.ask, n, d, err, tt.want, tt.remaining)
		}
	}
	if err := lim5.Reset(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := lim5.AllowAtMost(ctx, "k", 9); n != 5 {
		t.Errorf("AllowAtMost(9) after Reset = %d; want the full burst, 5", n)
	}
	// Reset reports Redis's failure.
	dead, err := NewLimiter(clientTo(t, unreachableAddr), LimiterConfig{Rate: 1, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := dead.Reset(ctx, "k"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Reset on an unreachable Redis: %v", err)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub))
}

var _ = ratelimit.Never
