package bulwarkredis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/redis/go-redis/v9"
)

// deliveryWait bounds the wait for a message to cross Redis pub/sub.
const deliveryWait = 5 * time.Second

var errBoom = errors.New("boom")

// newBreaker returns a breaker that opens after two failures in a row and
// closes after one good probe.
func newBreaker(t *testing.T, name string, wait time.Duration) *breaker.Breaker {
	t.Helper()
	b, err := breaker.New(breaker.Config{Name: name, Window: breaker.WindowConsecutive, WindowSize: 2,
		WaitDuration: wait, HalfOpenCalls: 1})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fail(b *breaker.Breaker, times int) {
	for range times {
		_ = bulwark.Run(context.Background(), b, func(context.Context) error { return errBoom })
	}
}

// startSync syncs b and stops it when the test ends.
func startSync(t *testing.T, c redis.UniversalClient, b *breaker.Breaker, cfg SyncConfig) *BreakerSync {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := SyncBreaker(ctx, c, b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// watch returns the changes of b from now on. Added after a BreakerSync's
// listener, it hears of a change after the BreakerSync has.
func watch(t *testing.T, b *breaker.Breaker) <-chan breaker.Change {
	ch := make(chan breaker.Change, 64)
	t.Cleanup(b.AddListener(func(c breaker.Change) { ch <- c }))
	return ch
}

// waitChange waits for a change of to with cause, skipping others.
func waitChange(t *testing.T, ch <-chan breaker.Change, to breaker.State, cause breaker.Cause) breaker.Change {
	t.Helper()
	timeout := time.After(deliveryWait)
	for {
		select {
		case c := <-ch:
			if c.To == to && c.Cause == cause {
				return c
			}
		case <-timeout:
			t.Fatalf("no change to %v (%v) within %v", to, cause, deliveryWait)
		}
	}
}

// subscribe returns the messages published on channel from now on.
func subscribe(t *testing.T, c *redis.Client, channel string) func() string {
	ctx := context.Background()
	ps := c.Subscribe(ctx, channel)
	t.Cleanup(func() { _ = ps.Close() })
	if _, err := ps.ReceiveTimeout(ctx, deliveryWait); err != nil { // the confirmation
		t.Fatal(err)
	}
	return func() string {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, deliveryWait)
		defer cancel()
		m, err := ps.ReceiveMessage(ctx)
		if err != nil {
			t.Fatalf("no message on %s: %v", channel, err)
		}
		return m.Payload
	}
}

// eventually polls cond until it holds, failing the test after
// deliveryWait: for what crosses Redis pub/sub and tells no listener.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(deliveryWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", deliveryWait)
		}
		time.Sleep(time.Millisecond)
	}
}

func near(a, b time.Time, d time.Duration) bool { return a.Sub(b) < d && b.Sub(a) < d }

func TestSyncOpensOtherReplicas(t *testing.T) {
	ca, cb := newClient(t), newClient(t)
	key := testPrefix(t, ca) + "breaker"
	next := subscribe(t, ca, key)
	a, b := newBreaker(t, "a", time.Minute), newBreaker(t, "b", time.Minute)
	sa := startSync(t, ca, a, SyncConfig{Key: key, Instance: "A"})
	sb := startSync(t, cb, b, SyncConfig{Key: key, Instance: "B"})
	changesB := watch(t, b)

	fail(a, 2)
	if a.State() != breaker.StateOpen {
		t.Fatalf("a is %v after two failures", a.State())
	}
	untilA := a.Snapshot().OpenUntil
	got := waitChange(t, changesB, breaker.StateOpen, breaker.CauseExternal)
	if !near(got.Until, untilA, time.Second) {
		t.Errorf("b opened until %v, a until %v", got.Until, untilA)
	}
	err := bulwark.Run(context.Background(), b, func(context.Context) error { return nil })
	var oe *breaker.OpenError
	if !errors.As(err, &oe) || oe.RetryAfter() <= 58*time.Second || oe.RetryAfter() > time.Minute {
		t.Errorf("b: %v; want rejected for about a minute", err)
	}
	// b's own listener ran before the test's: it did not queue the
	// external change for publication.
	if s := sb.Snapshot(); s.Queued != 0 || s.Published != 0 || s.Received != 1 || s.Applied != 1 {
		t.Errorf("b's sync %+v; want 1 received and applied, nothing queued", s)
	}
	msg := next()
	// Redis runs on this machine: its clock is this one, within a few ms.
	f := strings.Fields(msg)
	if len(f) != 3 || f[0] != "open" || f[1] != "A" {
		t.Fatalf("published %q; want open A <end>", msg)
	}
	if end, _ := strconv.ParseInt(f[2], 10, 64); !near(time.UnixMilli(end), untilA, allowance) {
		t.Errorf("published %q; want an end near %d", msg, untilA.UnixMilli())
	}
	ctx := context.Background()
	if v := ca.Get(ctx, key).Val(); v != msg {
		t.Errorf("key holds %q; want %q", v, msg)
	}
	if ttl := ca.PTTL(ctx, key).Val(); ttl <= 58*time.Second || ttl > time.Minute {
		t.Errorf("key expires in %v; want about a minute", ttl)
	}
	eventually(t, func() bool { return sa.Snapshot().Published == 1 }) // counted after the script returns
	if s := sa.Snapshot(); s.Queued != 1 || s.Published != 1 || s.Received != 0 || s.Key != key || s.Instance != "A" {
		t.Errorf("a's sync %+v; want one change queued and published", s)
	}
	// a does not hear its own message (an echo would show as Received).
	if a.State() != breaker.StateOpen || !a.Snapshot().OpenUntil.Equal(untilA) {
		t.Errorf("a changed: %v until %v", a.State(), a.Snapshot().OpenUntil)
	}
}

func TestSyncAdoptsOnStart(t *testing.T) {
	ca, cc := newClient(t), newClient(t)
	key := testPrefix(t, ca) + "breaker"

	// Nothing shared yet: a new replica starts closed.
	fresh := newBreaker(t, "fresh", time.Minute)
	startSync(t, cc, fresh, SyncConfig{Key: key})
	if fresh.State() != breaker.StateClosed {
		t.Fatalf("fresh replica is %v with no shared state", fresh.State())
	}

	next := subscribe(t, ca, key)
	a := newBreaker(t, "a", time.Minute)
	startSync(t, ca, a, SyncConfig{Key: key})
	fail(a, 2)
	next() // the key is set before the message is sent

	late := newBreaker(t, "late", time.Minute)
	s := startSync(t, cc, late, SyncConfig{Key: key})
	if late.State() != breaker.StateOpen {
		t.Fatalf("replica started during an opening is %v", late.State())
	}
	if u, want := late.Snapshot().OpenUntil, a.Snapshot().OpenUntil; !near(u, want, time.Second) {
		t.Errorf("late replica open until %v, a until %v", u, want)
	}
	if snap := s.Snapshot(); snap.Applied != 1 || snap.Queued != 0 {
		t.Errorf("late replica's sync %+v", snap)
	}
}

func TestSyncCloseSpreads(t *testing.T) {
	ca, cb := newClient(t), newClient(t)
	key := testPrefix(t, ca) + "breaker"
	a, b := newBreaker(t, "a", 50*time.Millisecond), newBreaker(t, "b", time.Minute)
	sa := startSync(t, ca, a, SyncConfig{Key: key, Instance: "A"})
	startSync(t, cb, b, SyncConfig{Key: key, Instance: "B"})
	changesA, changesB := watch(t, a), watch(t, b)

	fail(a, 2)
	waitChange(t, changesB, breaker.StateOpen, breaker.CauseExternal)
	waitChange(t, changesA, breaker.StateHalfOpen, breaker.CauseWaitElapsed)
	if err := bulwark.Run(context.Background(), a, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	waitChange(t, changesA, breaker.StateClosed, breaker.CauseProbesPassed)
	waitChange(t, changesB, breaker.StateClosed, breaker.CauseExternal)
	if n := ca.Exists(context.Background(), key).Val(); n != 0 {
		t.Errorf("the key is still there after the close")
	}
	if s := sa.Snapshot(); s.Queued != 2 {
		t.Errorf("a's sync %+v; want 2 changes queued (open, close)", s)
	}
}

// Announcements crafted by hand: the receiver uses the end in Redis's
// clock; ignores its own; never shortens an opening; reports what it
// cannot read.
func TestSyncReceive(t *testing.T) {
	ca, cb := newClient(t), newClient(t)
	key := testPrefix(t, ca) + "breaker"
	b := newBreaker(t, "b", time.Minute)
	var mu sync.Mutex
	var reported []error
	s := startSync(t, cb, b, SyncConfig{Key: key, Instance: "B",
		OnError: func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }})
	changes := watch(t, b)
	ctx := context.Background()
	publish := func(format string, args ...any) {
		t.Helper()
		if err := ca.Publish(ctx, key, fmt.Sprintf(format, args...)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	server := func() time.Time { tm, _ := ca.Time(ctx).Result(); return tm }
	now := server()
	in := func(d time.Duration) int64 { return now.Add(d).UnixMilli() }

	publish("open B %d", in(30*time.Second)) // its own: ignored
	publish("half-open X")                   // unreadable
	publish("open X %d", in(10*time.Second))
	publish("open Y %d", in(5*time.Second))  // shorter: ignored
	publish("open Z %d", in(20*time.Second)) // longer: applied
	c := waitChange(t, changes, breaker.StateOpen, breaker.CauseExternal)
	if !near(c.Until, now.Add(10*time.Second), allowance) {
		t.Errorf("opened until %v from Redis's now; want 10s", c.Until.Sub(now))
	}
	// Open to open is no change of state for listeners: poll.
	eventually(t, func() bool { return s.Snapshot().Received == 3 })
	if u := b.Snapshot().OpenUntil; !near(u, now.Add(20*time.Second), allowance) {
		t.Errorf("reopened until %v from Redis's now; want 20s", u.Sub(now))
	}
	snap := s.Snapshot()
	if snap.Received != 3 || snap.Applied != 2 || snap.Queued != 0 || snap.Errors != 1 {
		t.Errorf("snapshot %+v; want 3 received, 2 applied, 1 error", snap)
	}
	if skew := snap.ClockSkew; skew < -allowance || skew > allowance || snap.ClockError > allowance {
		t.Errorf("ClockSkew %v ± %v; Redis runs on this machine: want about 0", skew, snap.ClockError)
	}
	mu.Lock()
	var se *StateError
	if len(reported) != 1 || !errors.As(reported[0], &se) || !strings.Contains(reported[0].Error(), `"half-open X"`) {
		t.Errorf("OnError got %v; want the unreadable message", reported)
	}
	mu.Unlock()

	publish("close B %d", server().UnixMilli()) // its own: ignored
	publish("close W %d", server().UnixMilli())
	waitChange(t, changes, breaker.StateClosed, breaker.CauseExternal)
	if snap := s.Snapshot(); snap.Received != 4 || snap.Applied != 3 {
		t.Errorf("snapshot %+v; want 4 received, 3 applied", snap)
	}
}

func TestSyncManualStatesNotShared(t *testing.T) {
	ca := newClient(t)
	key := testPrefix(t, ca) + "breaker"
	a := newBreaker(t, "a", time.Minute)
	s := startSync(t, ca, a, SyncConfig{Key: key})
	watchA := watch(t, a)
	a.ForceOpen()
	a.Reset()
	a.Disable()
	a.Reset()
	fail(a, 2) // shared
	waitChange(t, watchA, breaker.StateOpen, breaker.CauseConsecutiveFailures)
	if q := s.Snapshot().Queued; q != 1 {
		t.Errorf("%d changes queued; want only the automatic opening", q)
	}
}

func TestSyncConfigErrors(t *testing.T) {
	c := clientTo(t, unreachableAddr)
	b := newBreaker(t, "b", time.Minute)
	ctx := context.Background()
	tests := []struct {
		client redis.UniversalClient
		b      *breaker.Breaker
		cfg    SyncConfig
		want   string
	}{
		{nil, b, SyncConfig{Key: "k"}, "client is nil"},
		{c, nil, SyncConfig{Key: "k"}, "breaker is nil"},
		{c, b, SyncConfig{}, "Key is empty"},
		{c, b, SyncConfig{Key: "k", Timeout: -1}, "Timeout is -1ns"},
		{c, b, SyncConfig{Key: "k", Instance: "a b"}, "white space"},
	}
	for _, tt := range tests {
		s, err := SyncBreaker(ctx, tt.client, tt.b, tt.cfg)
		if s != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SyncBreaker(%+v): %v, %v; want an error with %q", tt.cfg, s, err, tt.want)
		}
	}
}

// Redis refusing connections, or accepting them and never answering: the
// start fails within Timeout and leaves nothing running.
func TestSyncUnreachable(t *testing.T) {
	for _, addr := range []string{unreachableAddr, silentServer(t)} {
		b := newBreaker(t, "b", time.Minute)
		start := time.Now()
		s, err := SyncBreaker(context.Background(), clientTo(t, addr), b, SyncConfig{Key: "k", Timeout: 100 * time.Millisecond})
		var ue *UnavailableError
		if s != nil || !errors.As(err, &ue) || ue.Op != "subscribe" || ue.Name != "k" {
			t.Fatalf("SyncBreaker with Redis at %s: %v, %v; want an *UnavailableError", addr, s, err)
		}
		if el := time.Since(start); el > time.Second {
			t.Errorf("SyncBreaker with Redis at %s took %v with a Timeout of 100ms", addr, el)
		}
	}
}

func TestParseMessage(t *testing.T) {
	secret := []byte("s3cret")
	signed := func(body string) string { return body + " " + sign("k", body, secret) }
	tests := []struct {
		in     string
		secret []byte
		want   message
		err    string // a fragment of the error; "" for none
	}{
		{"open a 1000", nil, message{open: true, instance: "a", at: 1000}, ""},
		{"close a 1000", nil, message{instance: "a", at: 1000}, ""},
		{"open a 1000 ffff", nil, message{open: true, instance: "a", at: 1000}, ""}, // a MAC nobody checks
		{signed("open a 1000"), secret, message{open: true, instance: "a", at: 1000}, ""},
		{signed("close a 7"), secret, message{instance: "a", at: 7}, ""},
		{"open a 1000", secret, message{}, "no valid MAC"},
		{"open a 1000 " + sign("other-key", "open a 1000", secret), secret, message{}, "no valid MAC"},
		{"open a 1001 " + sign("k", "open a 1000", secret), secret, message{}, "no valid MAC"},
		{"open a 1000 " + sign("k", "open a 1000", []byte("wrong")), secret, message{}, "no valid MAC"},
		// The poisoning messages of issue 14.
		{"open evil 0 999999999999", nil, message{open: true, instance: "evil", at: 0}, ""}, // an end in 1970: no effect
		{"open evil 999999999999999", nil, message{}, "out of range"},
		{"open evil 99999999999999999999999", nil, message{}, "out of range"},
		{"open evil -5", nil, message{}, "out of range"},
		{"open evil +5", nil, message{}, "not a whole number"},
		{"open evil 1e9", nil, message{}, "not a whole number"},
		{"open a", nil, message{}, "not a breaker state"},
		{"close a", nil, message{}, "not a breaker state"},
		{"open  1000", nil, message{}, "not a breaker state"},
		{"half-open a 1", nil, message{}, "not a breaker state"},
		{"", nil, message{}, "not a breaker state"},
		{"open a 1 2 3", nil, message{}, "not a breaker state"},
	}
	for _, tt := range tests {
		got, err := parseMessage("k", tt.in, tt.secret)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("parseMessage(%q) = %+v, %v; want %+v, error with %q", tt.in, got, err, tt.want, tt.err)
		}
		if err == nil && tt.secret != nil {
			if f := got.format("k", tt.secret); f != tt.in {
				t.Errorf("format(parseMessage(%q)) = %q", tt.in, f)
			}
		}
	}
}

// errorsOf collects what OnError is told.
type errorsOf struct {
	mu   sync.Mutex
	errs []error
}

func (e *errorsOf) add(err error) { e.mu.Lock(); e.errs = append(e.errs, err); e.mu.Unlock() }

// has reports whether an *UnavailableError of op was told.
func (e *errorsOf) has(op string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, err := range e.errs {
		var ue *UnavailableError
		if errors.As(err, &ue) && ue.Op == op {
			return true
		}
	}
	return false
}

// A replica cut off from Redis reads the key again when it is back, and
// publishes what it could not announce meanwhile.
func TestSyncOutage(t *testing.T) {
	direct := newClient(t)
	p := newProxy(t, redisAddr)
	viaProxy := clientTo(t, p.addr())

	t.Run("missed announcement", func(t *testing.T) {
		key := testPrefix(t, direct) + "breaker"
		a, b := newBreaker(t, "a", time.Minute), newBreaker(t, "b", time.Minute)
		sa := startSync(t, direct, a, SyncConfig{Key: key, Instance: "A"})
		var seen errorsOf
		startSync(t, viaProxy, b, SyncConfig{Key: key, Instance: "B", OnError: seen.add})
		changesB := watch(t, b)

		p.setDown(true)
		eventually(t, func() bool { return seen.has("subscribe") })
		fail(a, 2)
		eventually(t, func() bool { return sa.Snapshot().Published == 1 })
		p.setDown(false)
		c := waitChange(t, changesB, breaker.StateOpen, breaker.CauseExternal)
		if !near(c.Until, a.Snapshot().OpenUntil, time.Second) {
			t.Errorf("b opened until %v, a until %v", c.Until, a.Snapshot().OpenUntil)
		}
	})

	t.Run("failed publication", func(t *testing.T) {
		key := testPrefix(t, direct) + "breaker"
		a, b := newBreaker(t, "a", time.Minute), newBreaker(t, "b", time.Minute)
		startSync(t, direct, a, SyncConfig{Key: key, Instance: "A"})
		var seen errorsOf
		sb := startSync(t, viaProxy, b, SyncConfig{Key: key, Instance: "B", OnError: seen.add, Timeout: 200 * time.Millisecond})
		changesA := watch(t, a)

		p.setDown(true)
		fail(b, 2)
		eventually(t, func() bool { return seen.has("publish") })
		p.setDown(false)
		c := waitChange(t, changesA, breaker.StateOpen, breaker.CauseExternal)
		if !near(c.Until, b.Snapshot().OpenUntil, time.Second) {
			t.Errorf("a opened until %v, b until %v", c.Until, b.Snapshot().OpenUntil)
		}
		eventually(t, func() bool { return sb.Snapshot().Published == 1 })
		if s := sb.Snapshot(); s.Queued != 1 || s.Published != 1 || s.Errors == 0 {
			t.Errorf("b's sync %+v; want one change, published once, after errors", s)
		}
	})
}
