package bulwarkredis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
)

// Item 1: with go-redis's default options, SyncBreaker's start takes at
// most min(ctx's deadline, Timeout) on a frozen or black-holed Redis.
func TestSyncStartHardDeadline(t *testing.T) {
	const timeout = 200 * time.Millisecond
	for _, f := range faults {
		if f.name == "kill" {
			continue // refused at once: TestSyncUnreachable
		}
		for _, ctxDeadline := range []time.Duration{3 * time.Second, 80 * time.Millisecond} {
			t.Run(fmt.Sprintf("%s/ctx %v", f.name, ctxDeadline), func(t *testing.T) {
				addr, out, _ := f.start(t)
				c := clientTo(t, addr)
				c.Options().ContextTimeoutEnabled = false
				if err := c.Ping(context.Background()).Err(); err != nil { // a connection open before the fault
					t.Fatal(err)
				}
				out()
				b := newBreaker(t, "b", time.Minute)
				start := time.Now()
				s, err := SyncBreaker(ctxFor(t, ctxDeadline), c, b, SyncConfig{Key: "k", Timeout: timeout})
				el := time.Since(start)
				var ue *UnavailableError
				if s != nil || !errors.As(err, &ue) {
					t.Fatalf("SyncBreaker: %v, %v; want an *UnavailableError", s, err)
				}
				if bound := min(timeout, ctxDeadline); el > bound+allowance {
					t.Errorf("SyncBreaker took %v; want at most %v (+%v)", el, bound, allowance)
				}
			})
		}
	}
}

// Item 5: a key holding garbage, another type, or an opening out of range
// does not block the start; it is reported and ignored, or clamped.
func TestSyncCorruptKey(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	prefix := testPrefix(t, c)
	year3000 := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for _, tt := range []struct {
		name    string
		set     func(key string) error
		open    bool   // the replica starts open, clamped to its longest wait
		problem string // a fragment of the reported fault
	}{
		{"garbage", func(k string) error { return c.Set(ctx, k, "garbage", 0).Err() }, false, "not a breaker state"},
		{"hash", func(k string) error { return c.HSet(ctx, k, "f", "v").Err() }, false, "holds a hash"},
		{"closing", func(k string) error { return c.Set(ctx, k, "close x 1", 0).Err() }, false, "closing"},
		{"overflow", func(k string) error { return c.Set(ctx, k, "open evil 999999999999999999999", 0).Err() }, false, "out of range"},
		{"31 years", func(k string) error {
			return c.Set(ctx, k, fmt.Sprintf("open evil %d", year3000), 1000*time.Hour).Err()
		}, true, "clamped"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			key := prefix + tt.name
			if err := tt.set(key); err != nil {
				t.Fatal(err)
			}
			var seen errorsOf
			b := newBreaker(t, "b", time.Minute) // longest wait: a minute
			startSync(t, c, b, SyncConfig{Key: key, OnError: seen.add})
			seen.mu.Lock()
			var se *StateError
			if len(seen.errs) != 1 || !errors.As(seen.errs[0], &se) || !strings.Contains(se.Problem, tt.problem) {
				t.Errorf("OnError heard %v; want one *StateError with %q", seen.errs, tt.problem)
			}
			seen.mu.Unlock()
			snap := b.Snapshot()
			if (snap.State == breaker.StateOpen) != tt.open {
				t.Errorf("started %v", snap.State)
			}
			if tt.open && snap.OpenUntil.After(time.Now().Add(time.Minute)) {
				t.Errorf("open until %v from now; want at most the breaker's longest wait, a minute", time.Until(snap.OpenUntil))
			}
			// The next opening overwrites the key, whatever it held.
			fail(b, 2)
			if tt.open {
				return // open already: no failure is recorded
			}
			eventually(t, func() bool { return strings.HasPrefix(c.Get(ctx, key).Val(), "open ") })
			if ttl := c.PTTL(ctx, key).Val(); ttl > time.Minute {
				t.Errorf("the key expires in %v after a one-minute opening", ttl)
			}
		})
	}
}

// Item 6: the poisoning messages. An opening is clamped to the receiver's
// longest wait; values out of range are reported; with a Secret, messages
// without the right MAC are ignored and reported.
func TestSyncPoisoning(t *testing.T) {
	ca, cb := newClient(t), newClient(t)
	ctx := context.Background()
	prefix := testPrefix(t, ca)
	year3000 := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for _, tt := range []struct {
		msg     string
		secret  []byte
		open    bool
		problem string
	}{
		{"open evil 0 999999999999", nil, false, ""}, // the old format's 31.7 years: an end in 1970
		{fmt.Sprintf("open evil %d", year3000), nil, true, "clamped"},
		{"open evil 999999999999999", nil, false, "out of range"},
		{"open evil 99999999999999999999999", nil, false, "out of range"},
		{"close evil 0", nil, false, "closing"},
		{fmt.Sprintf("open evil %d", year3000), []byte("s3cret"), false, "no valid MAC"},
		{fmt.Sprintf("open evil %d deadbeef", year3000), []byte("s3cret"), false, "no valid MAC"},
		{"__signed__", []byte("s3cret"), true, "clamped"}, // a replica with the secret that went mad: still clamped
	} {
		t.Run(tt.msg, func(t *testing.T) {
			key := prefix + fmt.Sprint(len(tt.msg)) + string(tt.secret)
			var seen errorsOf
			b := newBreaker(t, "b", time.Minute)
			s := startSync(t, cb, b, SyncConfig{Key: key, Secret: tt.secret, OnError: seen.add})
			msg := tt.msg
			if msg == "__signed__" {
				msg = message{open: true, instance: "mad", at: year3000}.format(key, tt.secret)
			}
			if err := ca.Publish(ctx, key, msg).Err(); err != nil {
				t.Fatal(err)
			}
			if tt.problem == "" {
				eventually(t, func() bool { return s.Snapshot().Received == 1 })
			} else {
				eventually(t, func() bool { seen.mu.Lock(); defer seen.mu.Unlock(); return len(seen.errs) > 0 })
				seen.mu.Lock()
				if !strings.Contains(seen.errs[0].Error(), tt.problem) {
					t.Errorf("OnError heard %v; want %q", seen.errs, tt.problem)
				}
				seen.mu.Unlock()
			}
			snap := b.Snapshot()
			if (snap.State == breaker.StateOpen) != tt.open {
				t.Errorf("breaker %v after %q", snap.State, msg)
			}
			if snap.State == breaker.StateOpen && snap.OpenUntil.After(time.Now().Add(time.Minute)) {
				t.Errorf("open for %v; want at most the longest wait, a minute", time.Until(snap.OpenUntil))
			}
		})
	}
}

// Item 6: replicas sharing a Secret hear each other.
func TestSyncSecret(t *testing.T) {
	ca, cb := newClient(t), newClient(t)
	key := testPrefix(t, ca) + "breaker"
	secret := []byte("s3cret")
	a, b := newBreaker(t, "a", time.Minute), newBreaker(t, "b", time.Minute)
	startSync(t, ca, a, SyncConfig{Key: key, Secret: secret})
	startSync(t, cb, b, SyncConfig{Key: key, Secret: secret})
	changesB := watch(t, b)
	fail(a, 2)
	waitChange(t, changesB, breaker.StateOpen, breaker.CauseExternal)
	late := newBreaker(t, "late", time.Minute)
	startSync(t, cb, late, SyncConfig{Key: key, Secret: secret})
	if late.State() != breaker.StateOpen {
		t.Errorf("a replica started with the secret ignored the signed key: %v", late.State())
	}
}

// Item 7: a publication delayed by a frozen Redis does not stretch the
// opening: receivers end it when the sender does, and ClockSkew stays the
// clocks' (about 0 here), not the delay.
func TestSyncDelayedPublication(t *testing.T) {
	srv := startServer(t)
	ca, cb := srv.client(t), srv.client(t)
	a, b := newBreaker(t, "a", 5*time.Second), newBreaker(t, "b", time.Minute)
	startSync(t, ca, a, SyncConfig{Key: "k", Instance: "A", Timeout: 10 * time.Second})
	sb := startSync(t, cb, b, SyncConfig{Key: "k", Instance: "B", Timeout: 10 * time.Second})
	changesB := watch(t, b)
	srv.freeze()
	fail(a, 2)
	time.Sleep(time.Second) // the publication waits in the frozen server's socket
	srv.thaw()
	c := waitChange(t, changesB, breaker.StateOpen, breaker.CauseExternal)
	if until := a.Snapshot().OpenUntil; !near(c.Until, until, allowance) {
		t.Errorf("b open until %v after a's; want the same end (±%v)", c.Until.Sub(until), allowance)
	}
	if s := sb.Snapshot(); s.ClockSkew < -allowance || s.ClockSkew > allowance {
		t.Errorf("ClockSkew %v ± %v; want about 0", s.ClockSkew, s.ClockError)
	}
}

// Item 8: with a Quorum of 2, one replica's opening opens only itself;
// a second one within the window opens all.
func TestSyncQuorum(t *testing.T) {
	c := newClient(t)
	key := testPrefix(t, c) + "breaker"
	a, b, o := newBreaker(t, "a", time.Minute), newBreaker(t, "b", time.Minute), newBreaker(t, "o", time.Minute)
	cfg := SyncConfig{Key: key, Quorum: 2}
	sa := startSync(t, newClient(t), a, cfg)
	startSync(t, newClient(t), b, cfg)
	so := startSync(t, newClient(t), o, cfg)
	changesO := watch(t, o)
	fail(a, 2)
	eventually(t, func() bool { return c.ZCard(context.Background(), key+":votes").Val() == 1 })
	if o.State() != breaker.StateClosed || sa.Snapshot().Published != 0 || so.Snapshot().Received != 0 {
		t.Fatalf("one vote of 2 opened the fleet: o %v, a %+v", o.State(), sa.Snapshot())
	}
	fail(b, 2)
	waitChange(t, changesO, breaker.StateOpen, breaker.CauseExternal)
}

// Item 8: with FleetProbe, one replica probes for the fleet; the others
// stay open until its result reaches them.
func TestSyncFleetProbe(t *testing.T) {
	c := newClient(t)
	key := testPrefix(t, c) + "breaker"
	const replicas = 5
	const wait = time.Second // the claim, a Timeout ahead of the wait's end, has 400ms on a loaded machine
	var bs []*breaker.Breaker
	var ss []*BreakerSync
	for i := range replicas {
		b := newBreaker(t, fmt.Sprint(i), wait)
		bs = append(bs, b)
		ss = append(ss, startSync(t, newClient(t), b, SyncConfig{Key: key, FleetProbe: true, ProbeLease: 3 * time.Second, Timeout: 400 * time.Millisecond}))
	}
	fail(bs[0], 2)
	for _, b := range bs[1:] {
		eventually(t, func() bool { return b.State() == breaker.StateOpen })
	}
	// Every replica tries a call every millisecond for 1.5 waits: only the
	// token holder's breaker lets a probe through.
	probes := make([]int, replicas)
	deadline := time.Now().Add(wait + wait/2)
	for time.Now().Before(deadline) {
		for i, b := range bs {
			if p, err := b.Allow(); err == nil {
				probes[i]++
				p.Failure() // the dependency is still down
			}
		}
		time.Sleep(time.Millisecond)
	}
	probers := 0
	for i := range bs {
		if probes[i] > 0 {
			probers++
			if ss[i].Snapshot().ProbeClaims == 0 {
				t.Errorf("replica %d probed without the token", i)
			}
		}
	}
	if probers != 1 {
		t.Errorf("probes per replica %v; want probes from the token holder only", probes)
	}
}

// Item 9: sharded pub/sub (SPUBLISH, SSUBSCRIBE), as on Redis Cluster.
func TestSyncSharded(t *testing.T) {
	ca, cb := newClient(t), newClient(t)
	key := testPrefix(t, ca) + "breaker"
	a, b := newBreaker(t, "a", time.Minute), newBreaker(t, "b", time.Minute)
	startSync(t, ca, a, SyncConfig{Key: key, Sharded: true})
	startSync(t, cb, b, SyncConfig{Key: key, Sharded: true})
	ctx := context.Background()
	plain := ca.Subscribe(ctx, key) // a plain subscriber hears nothing
	t.Cleanup(func() { _ = plain.Close() })
	if _, err := plain.ReceiveTimeout(ctx, deliveryWait); err != nil { // the confirmation
		t.Fatal(err)
	}
	changesB := watch(t, b)
	fail(a, 2)
	waitChange(t, changesB, breaker.StateOpen, breaker.CauseExternal)
	if m, err := plain.ReceiveTimeout(ctx, 100*time.Millisecond); err == nil {
		t.Errorf("a plain subscriber heard %v; want the opening on sharded pub/sub only", m)
	}
}
