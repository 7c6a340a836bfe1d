package bulwarkredis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/redis/go-redis/v9"
)

// slack bounds the real time a test's Redis calls take, which the server's
// clock sees pass between calls.
const slack = 5 * time.Second

// advance moves the limit state of the Redis key rkey d into the past, as
// if d had passed: the TAT and the key's expiry move back by d.
func advance(t *testing.T, c *redis.Client, rkey string, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	v, err := c.Get(ctx, rkey).Result()
	if err != nil {
		t.Fatalf("advance: GET %s: %v", rkey, err)
	}
	s, ns, ok := strings.Cut(v, ":")
	if !ok {
		t.Fatalf("advance: %s holds %q, not seconds:nanoseconds", rkey, v)
	}
	sec, err1 := strconv.ParseInt(s, 10, 64)
	nsec, err2 := strconv.ParseInt(ns, 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("advance: %s holds %q", rkey, v)
	}
	tat := time.Unix(sec, nsec).Add(-d)
	ttl := c.PTTL(ctx, rkey).Val() - d
	if ttl <= 0 {
		c.Del(ctx, rkey)
		return
	}
	c.Set(ctx, rkey, fmt.Sprintf("%d:%d", tat.Unix(), tat.Nanosecond()), ttl)
}

// within reports whether got is in [want-slack, want].
func within(got, want time.Duration) bool { return got <= want && got > want-slack }

func TestLimiterSharedBurstAndSpacing(t *testing.T) {
	c1, c2 := newClient(t), newClient(t)
	prefix := testPrefix(t, c1)
	const interval = 20 * time.Minute // 3 per hour: the real time the test takes is noise
	// No refusal cache: advance moves time under it.
	cfg := LimiterConfig{Name: "api", Limit: 3, Per: time.Hour, Burst: 3, Prefix: prefix, RefusalCache: -1, Timeout: liveTimeout}
	r1, err := NewLimiter(c1, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := NewLimiter(c2, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rkey := prefix + "tenant-1"

	type step struct {
		lim       *Limiter
		advance   time.Duration // time passed before the call
		allowed   bool
		remaining int
		retry     time.Duration // upper bound; at most slack less
		reset     time.Duration // upper bound; at most slack less
	}
	steps := []step{
		{lim: r1, allowed: true, remaining: 2, reset: interval},
		{lim: r2, allowed: true, remaining: 1, reset: 2 * interval},
		{lim: r1, allowed: true, remaining: 0, reset: 3 * interval},
		{lim: r2, allowed: false, remaining: 0, retry: interval, reset: 3 * interval},
		{lim: r1, allowed: false, remaining: 0, retry: interval, reset: 3 * interval},
		// One interval later, exactly one more.
		{lim: r2, advance: interval, allowed: true, remaining: 0, reset: 3 * interval},
		{lim: r1, allowed: false, remaining: 0, retry: interval, reset: 3 * interval},
		// Half an interval: still not.
		{lim: r1, advance: interval / 2, allowed: false, remaining: 0, retry: interval / 2, reset: 5 * interval / 2},
		// Two more: two and a half back, two taken, half left.
		{lim: r2, advance: 2 * interval, allowed: true, remaining: 1, reset: 3 * interval / 2},
		{lim: r1, allowed: true, remaining: 0, reset: 5 * interval / 2},
		{lim: r2, allowed: false, remaining: 0, retry: interval / 2, reset: 5 * interval / 2},
		// Three intervals of quiet fill the bucket, and no more.
		{lim: r1, advance: 3 * interval, allowed: true, remaining: 2, reset: interval},
	}
	for i, s := range steps {
		if s.advance > 0 {
			advance(t, c1, rkey, s.advance)
		}
		before := c1.Get(ctx, rkey).Val()
		d, err := s.lim.Allow(ctx, "tenant-1")
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if d.Allowed != s.allowed || d.Remaining != s.remaining || d.Limit != 3 {
			t.Fatalf("step %d: got allowed %v remaining %d limit %d, want %v %d 3", i, d.Allowed, d.Remaining, d.Limit, s.allowed, s.remaining)
		}
		if s.allowed && d.RetryAfter != 0 {
			t.Errorf("step %d: admitted with RetryAfter %v", i, d.RetryAfter)
		}
		if !s.allowed && !within(d.RetryAfter, s.retry) {
			t.Errorf("step %d: RetryAfter %v, want within %v of %v", i, slack, d.RetryAfter, s.retry)
		}
		if !within(d.ResetAfter, s.reset) {
			t.Errorf("step %d: ResetAfter %v, want within %v of %v", i, d.ResetAfter, slack, s.reset)
		}
		// The key expires when the bucket is full again; a refusal writes
		// nothing.
		ttl := c1.PTTL(ctx, rkey).Val()
		if !within(ttl, s.reset+time.Millisecond) {
			t.Errorf("step %d: PTTL %v, want within %v of ResetAfter %v", i, ttl, slack, s.reset)
		}
		if after := c1.Get(ctx, rkey).Val(); !s.allowed && after != before {
			t.Errorf("step %d: a refusal changed the state from %q to %q", i, before, after)
		}
	}
	s1, s2 := r1.Snapshot(), r2.Snapshot()
	if s1.Allowed+s2.Allowed != 7 || s1.Rejected+s2.Rejected != 5 || s1.Unavailable+s2.Unavailable != 0 {
		t.Errorf("snapshots %+v %+v: want 7 allowed, 5 rejected, 0 unavailable in all", s1, s2)
	}
	if s1.Rate != 3.0/3600 || s1.Burst != 3 {
		t.Errorf("snapshot rate %v burst %d, want %v 3", s1.Rate, s1.Burst, 3.0/3600)
	}
}

func TestLimiterSmoothSpacing(t *testing.T) {
	c := newClient(t)
	prefix := testPrefix(t, c)
	lim, err := NewLimiter(c, LimiterConfig{Rate: 1.0 / 3600, Prefix: prefix, RefusalCache: -1, Timeout: liveTimeout}) // Burst 1: one an hour
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rkey := prefix + "k"
	want := []struct {
		advance time.Duration
		allowed bool
		retry   time.Duration
	}{
		{0, true, 0},
		{0, false, time.Hour},
		{30 * time.Minute, false, 30 * time.Minute},
		{29 * time.Minute, false, time.Minute},
		{time.Minute, true, 0},
		{0, false, time.Hour},
		{3 * time.Hour, true, 0}, // a quiet period earns no burst
		{0, false, time.Hour},
	}
	for i, w := range want {
		if w.advance > 0 {
			advance(t, c, rkey, w.advance)
		}
		d, err := lim.Allow(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != w.allowed || d.Remaining != 0 || (!w.allowed && !within(d.RetryAfter, w.retry)) {
			t.Errorf("call %d: got %+v, want allowed %v, remaining 0, retry after about %v", i, d, w.allowed, w.retry)
		}
	}
}

func TestLimiterAllowN(t *testing.T) {
	c := newClient(t)
	prefix := testPrefix(t, c)
	lim, err := NewLimiter(c, LimiterConfig{Limit: 5, Per: time.Hour, Burst: 5, Prefix: prefix, Timeout: liveTimeout})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, err := lim.AllowN(ctx, "k", 0)
	if err != nil || !d.Allowed || d.Remaining != 5 {
		t.Errorf("AllowN(0) = %+v, %v; want allowed with 5 remaining", d, err)
	}
	if n := c.Exists(ctx, prefix+"k").Val(); n != 0 {
		t.Errorf("AllowN(0) wrote the key")
	}
	d, err = lim.AllowN(ctx, "k", 6)
	if err != nil || d.Allowed || d.RetryAfter != ratelimit.Never || d.Remaining != 5 {
		t.Errorf("AllowN(6) with burst 5 = %+v, %v; want refused with RetryAfter Never, 5 remaining", d, err)
	}
	d, err = lim.AllowN(ctx, "k", 3)
	if err != nil || !d.Allowed || d.Remaining != 2 || !within(d.ResetAfter, 36*time.Minute) {
		t.Errorf("AllowN(3) = %+v, %v; want allowed, 2 remaining, reset after 36m", d, err)
	}
	d, err = lim.AllowN(ctx, "k", 3)
	if err != nil || d.Allowed || d.Remaining != 2 || !within(d.RetryAfter, 12*time.Minute) {
		t.Errorf("AllowN(3) again = %+v, %v; want refused, 2 remaining, retry after 12m", d, err)
	}
	d, err = lim.Allow(ctx, "other")
	if err != nil || !d.Allowed || d.Remaining != 4 {
		t.Errorf("another key: %+v, %v; want its own full burst", d, err)
	}
	defer func() {
		if recover() == nil {
			t.Error("AllowN(-1) did not panic")
		}
	}()
	_, _ = lim.AllowN(ctx, "k", -1)
}

func TestLimiterExecute(t *testing.T) {
	c := newClient(t)
	prefix := testPrefix(t, c)
	var events []bulwark.Event
	var mu sync.Mutex
	lim, err := NewLimiter(c, LimiterConfig{
		Name: "api", Limit: 1, Per: time.Hour, Prefix: prefix, Timeout: liveTimeout,
		Observer: bulwark.ObserverFunc(func(e bulwark.Event) { mu.Lock(); events = append(events, e); mu.Unlock() }),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var calls int
	op := func(context.Context) (string, error) { calls++; return "ok", nil }

	if v, err := bulwark.Get(ctx, lim, op); v != "ok" || err != nil {
		t.Fatalf("first call: %q, %v", v, err)
	}
	if n := c.Exists(ctx, prefix+DefaultKey).Val(); n != 1 {
		t.Errorf("Execute did not use the key %q", prefix+DefaultKey)
	}
	_, err = bulwark.Get(ctx, lim, op)
	var le *ratelimit.LimitedError
	var ra bulwark.RetryAfter
	if !errors.Is(err, ratelimit.ErrLimited) || !errors.As(err, &le) || !errors.As(err, &ra) {
		t.Fatalf("second call: %v; want a *ratelimit.LimitedError", err)
	}
	if le.Name != "api" || !within(ra.RetryAfter(), time.Hour) {
		t.Errorf("second call: %+v; want name api, retry after about 1h", le)
	}
	if calls != 1 {
		t.Errorf("op ran %d times, want 1", calls)
	}
	// ExecuteKey has a limit per key.
	for _, key := range []string{"a", "b"} {
		if _, err := lim.ExecuteKey(ctx, key, bulwark.OperationFunc(func(context.Context) (any, error) { return nil, nil })); err != nil {
			t.Errorf("ExecuteKey(%s): %v", key, err)
		}
	}
	if _, err := lim.ExecuteKey(ctx, "a", bulwark.OperationFunc(func(context.Context) (any, error) { return nil, nil })); !errors.Is(err, ratelimit.ErrLimited) {
		t.Errorf("ExecuteKey(a) again: %v, want limited", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 {
		t.Fatalf("%d events, want 2 rejections: %+v", len(events), events)
	}
	for _, e := range events {
		if e.Kind != bulwark.KindRejected || e.Policy != "ratelimit" || e.Name != "api" ||
			!errors.Is(e.Err, ratelimit.ErrLimited) || !within(e.Delay, time.Hour) {
			t.Errorf("event %+v: want a ratelimit rejection of api with Delay about 1h", e)
		}
	}
}

func TestLimiterDefaultPrefix(t *testing.T) {
	c := newClient(t)
	name := strings.TrimSuffix(testPrefix(t, c), ":")
	lim, err := NewLimiter(c, LimiterConfig{Name: name, Rate: 1, Timeout: liveTimeout})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := lim.Allow(ctx, "tenant"); err != nil {
		t.Fatal(err)
	}
	rkey := "bulwark:ratelimit:" + name + ":tenant"
	defer c.Del(ctx, rkey)
	if n := c.Exists(ctx, rkey).Val(); n != 1 {
		t.Errorf("key %q not written", rkey)
	}
}

func TestLimiterUnlimited(t *testing.T) {
	lim, err := NewLimiter(clientTo(t, unreachableAddr), LimiterConfig{Rate: math.Inf(1), Burst: 4})
	if err != nil {
		t.Fatal(err)
	}
	d, err := lim.Allow(context.Background(), "k")
	if err != nil || d != (ratelimit.Decision{Allowed: true, Limit: 4, Remaining: 4}) {
		t.Errorf("unlimited: %+v, %v; want allowed at once without Redis", d, err)
	}
}

// A dependency failure, failing open and closed.
func TestLimiterUnavailable(t *testing.T) {
	for _, failClosed := range []bool{false, true} {
		mode := OutageOpen
		if failClosed {
			mode = OutageClosed
		}
		t.Run(mode.String(), func(t *testing.T) {
			var reported atomic.Int32
			var events atomic.Int32
			lim, err := NewLimiter(clientTo(t, unreachableAddr), LimiterConfig{
				Name: "api", Rate: 1, Outage: mode, Timeout: 50 * time.Millisecond,
				OnError: func(err error) {
					if errors.Is(err, ErrUnavailable) {
						reported.Add(1)
					}
				},
				Observer: bulwark.ObserverFunc(func(e bulwark.Event) {
					if e.Kind == bulwark.KindRejected && errors.Is(e.Err, ErrUnavailable) {
						events.Add(1)
					}
				}),
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			start := time.Now()
			d, err := lim.Allow(ctx, "k")
			var ue *UnavailableError
			if !errors.As(err, &ue) || ue.Op != "allow" || ue.Name != "api" || ue.Err == nil {
				t.Fatalf("Allow: %v; want an *UnavailableError", err)
			}
			if d.Allowed == failClosed || d.Limit != 1 {
				t.Errorf("Allow: %+v; want allowed %v", d, !failClosed)
			}
			ran := false
			_, err = lim.Execute(ctx, bulwark.OperationFunc(func(context.Context) (any, error) { ran = true; return nil, nil }))
			if ran == failClosed {
				t.Errorf("Execute ran op: %v, want %v", ran, !failClosed)
			}
			if failClosed != errors.Is(err, ErrUnavailable) {
				t.Errorf("Execute: %v", err)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("two calls took %v against an unreachable Redis", el)
			}
			if got := reported.Load(); got != 2 {
				t.Errorf("OnError told %d times, want 2", got)
			}
			wantEvents := int32(0)
			if failClosed {
				wantEvents = 2
			}
			if got := events.Load(); got != wantEvents {
				t.Errorf("%d rejection events, want %d", got, wantEvents)
			}
			if s := lim.Snapshot(); s.Unavailable != 2 || s.Allowed != 0 || s.Rejected != 0 || s.Outage != mode {
				t.Errorf("snapshot %+v", s)
			}
		})
	}
}

// A server that accepts connections and never answers: the Timeout, not
// the client's 3-second read timeout, bounds the call.
func TestLimiterTimeout(t *testing.T) {
	lim, err := NewLimiter(clientTo(t, silentServer(t)), LimiterConfig{Rate: 1, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	d, err := lim.Allow(context.Background(), "k")
	if el := time.Since(start); el > time.Second {
		t.Errorf("Allow took %v with a Timeout of 50ms", el)
	}
	if !d.Allowed || !errors.Is(err, ErrUnavailable) {
		t.Errorf("Allow: %+v, %v; want admitted (fail open) with an unavailable error", d, err)
	}
}

// The caller's own cancellation is not a Redis failure.
func TestLimiterCallerCancelled(t *testing.T) {
	called := false
	lim, err := NewLimiter(clientTo(t, unreachableAddr), LimiterConfig{Rate: 1, OnError: func(error) { called = true }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, err := lim.Allow(ctx, "k")
	if d.Allowed || !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		t.Errorf("Allow with a cancelled context: %+v, %v; want refused with context.Canceled", d, err)
	}
	ran := false
	if _, err := lim.Execute(ctx, bulwark.OperationFunc(func(context.Context) (any, error) { ran = true; return nil, nil })); ran || !errors.Is(err, context.Canceled) {
		t.Errorf("Execute with a cancelled context: ran %v, %v", ran, err)
	}
	if called || lim.Snapshot().Unavailable != 0 {
		t.Errorf("the caller's cancellation was counted as a Redis failure")
	}
}

func TestLimiterConfig(t *testing.T) {
	client := clientTo(t, unreachableAddr)
	tests := []struct {
		cfg  LimiterConfig
		want string // a fragment of the error, "" for none
	}{
		{LimiterConfig{Rate: 10}, ""},
		{LimiterConfig{Limit: 100, Per: time.Minute, Burst: 10}, ""},
		{LimiterConfig{Rate: MaxRate}, ""},
		{LimiterConfig{Rate: 1, Burst: int(MaxSpan / time.Second)}, ""},
		{LimiterConfig{}, "Rate is 0"},
		{LimiterConfig{Rate: -1}, "Rate is -1"},
		{LimiterConfig{Rate: math.NaN()}, "Rate is NaN"},
		{LimiterConfig{Rate: 2e9}, "at most"},
		{LimiterConfig{Rate: 1e-9}, "at least one per"},
		{LimiterConfig{Rate: 1, Limit: 1, Per: time.Second}, "both set"},
		{LimiterConfig{Limit: 1}, "Per is 0s"},
		{LimiterConfig{Per: time.Second}, "Limit is 0"},
		{LimiterConfig{Limit: 2, Per: time.Nanosecond}, "one per nanosecond"},
		{LimiterConfig{Limit: 1, Per: 2 * MaxSpan}, "Per is"},
		{LimiterConfig{Rate: 1, Burst: -1}, "Burst is -1"},
		{LimiterConfig{Rate: 1, Burst: int(MaxSpan/time.Second) + 1}, "lower it"},
		{LimiterConfig{Rate: 1, Timeout: -time.Second}, "Timeout is -1s"},
	}
	for _, tt := range tests {
		_, err := NewLimiter(client, tt.cfg)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("NewLimiter(%+v): %v", tt.cfg, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("NewLimiter(%+v): %v; want an error with %q", tt.cfg, err, tt.want)
		}
	}
	if _, err := NewLimiter(nil, LimiterConfig{Rate: 1}); err == nil {
		t.Error("NewLimiter(nil client): no error")
	}
}

func TestDecisionReply(t *testing.T) {
	tests := []struct {
		res  []any
		want ratelimit.Decision
		err  bool
	}{
		{[]any{int64(1), int64(1), int64(2), int64(0), int64(5), int64(0)}, ratelimit.Decision{Allowed: true, Limit: 3, Remaining: 2, ResetAfter: 5}, false},
		{[]any{int64(0), int64(0), int64(0), int64(-1), int64(5), int64(0)}, ratelimit.Decision{Limit: 3, RetryAfter: ratelimit.Never, ResetAfter: 5}, false},
		{[]any{int64(0), int64(0), int64(7)}, ratelimit.Decision{}, true},
		{[]any{int64(0), int64(0), "x", int64(7), int64(1), int64(0)}, ratelimit.Decision{}, true},
	}
	for _, tt := range tests {
		got, _, _, err := decision(tt.res, 3)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("decision(%v) = %+v, %v; want %+v, error %v", tt.res, got, err, tt.want, tt.err)
		}
	}
}

func TestUnavailableError(t *testing.T) {
	cause := errors.New("dial tcp: refused")
	err := error(&UnavailableError{Name: "api", Op: "allow", Err: cause})
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, cause) {
		t.Errorf("%v does not match ErrUnavailable and its cause", err)
	}
	if got, want := err.Error(), `bulwarkredis "api": allow: redis unavailable: dial tcp: refused`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
