package bulwarkredis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/redis/go-redis/v9"
)

// Defaults of SyncConfig.
const (
	// DefaultQuorumWindow is SyncConfig.QuorumWindow when left 0.
	DefaultQuorumWindow = 10 * time.Second
	// DefaultProbeLease is SyncConfig.ProbeLease when left 0.
	DefaultProbeLease = 10 * time.Second
)

// maxCloseAge is how far a closing's time may be from Redis's clock for it
// to apply: an older one is a replay or a message stuck somewhere.
const maxCloseAge = time.Minute

// DefaultSyncTimeout is SyncConfig.Timeout when left 0.
const DefaultSyncTimeout = time.Second

// healthInterval is how long the subscriber waits for a message before it
// pings the server, to find a connection that died silently.
const healthInterval = 15 * time.Second

// Backoff after a failed publication or a broken subscription.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// SyncConfig configures [SyncBreaker].
type SyncConfig struct {
	// Key is the Redis key that holds the shared state, and the name of
	// the pub/sub channel that announces its changes. Every replica of one
	// breaker uses the same Key, say "bulwark:breaker:payments". With
	// Quorum on Redis Cluster it must hold a hash tag ("bulwark:{payments}")
	// so that the key of the votes, Key+":votes", is on the same shard.
	// Required.
	Key string

	// Instance identifies this replica in messages, so that it ignores its
	// own. It may not contain white space. Default: 16 random hex digits,
	// new for each SyncBreaker call.
	Instance string

	// Timeout bounds each call to Redis, and SyncBreaker's start as a
	// whole, whatever the client's options (see LimiterConfig.Timeout).
	// Default: [DefaultSyncTimeout], 1 second. Negative values are an error.
	Timeout time.Duration

	// Secret, if not empty, authenticates the shared state: every message
	// and key value carries an HMAC-SHA256 of itself and Key under Secret,
	// and those without a valid one are ignored and reported (a
	// *StateError). Every replica of the breaker must have the same
	// Secret. Without it, anyone who can PUBLISH on the Redis can open the
	// fleet's breakers, for at most their longest wait
	// (breaker.Snapshot.LongestWait), which bounds every opening received
	// either way. Default: none.
	Secret []byte

	// Sharded uses sharded pub/sub (SSUBSCRIBE, SPUBLISH; Redis 7) on any
	// client. A *redis.ClusterClient always uses it: plain PUBLISH goes to
	// every node of a cluster. Default false.
	Sharded bool

	// Quorum, if more than 1, opens the fleet only when that many replicas
	// opened by themselves within QuorumWindow: each automatic opening is
	// a vote, and the vote that makes the quorum sets the key and
	// publishes. One bad replica then opens only itself. Default 1: any
	// replica's opening opens all.
	Quorum int

	// QuorumWindow is how long a vote counts. Default:
	// [DefaultQuorumWindow], 10 seconds.
	QuorumWindow time.Duration

	// FleetProbe makes half-open probing fleet-wide: shortly before its
	// open wait ends, a replica claims the probe token (Key+":probe", SET
	// NX PX); the replica holding it probes, the others stay open until
	// the token expires or the prober's result reaches them (a closing, or
	// a longer opening). So the fleet sends HalfOpenCalls probes, not
	// HalfOpenCalls per replica. When Redis cannot be asked, a replica
	// probes on its own. Default false.
	FleetProbe bool

	// ProbeLease is how long a replica holding the probe token may probe,
	// from the end of its open wait, before another may claim it. Default:
	// [DefaultProbeLease], 10 seconds.
	ProbeLease time.Duration

	// OnError, if set, is told of every failure: a publication that
	// failed (it is retried), a broken subscription (it is restored), and
	// as *StateError a message or key it ignored (unreadable, out of
	// range, unauthenticated, a stale closing) or an opening it clamped.
	// Errors from Redis are *UnavailableError. It runs on the
	// BreakerSync's own goroutines, possibly concurrently, and, for the
	// key read at start, on SyncBreaker's. Default: nil.
	OnError func(err error)
}

// BreakerSync shares a breaker's openings and closings with the other
// replicas of a service through Redis; see [SyncBreaker]. It is safe for
// concurrent use.
type BreakerSync struct {
	client     redis.UniversalClient
	b          *breaker.Breaker
	key        string
	instance   string
	timeout    time.Duration
	direct     bool
	secret     []byte
	sharded    bool
	pubCmd     string
	quorum     int
	window     time.Duration
	fleetProbe bool
	probeLease time.Duration
	onError    func(error)
	ps         *redis.PubSub
	remove     func()
	cancel     context.CancelFunc
	life       context.Context
	wg         sync.WaitGroup
	stopOnce   sync.Once

	mu         sync.Mutex
	next       pending // the latest local change not yet published
	stopped    bool
	probeTimer *time.Timer
	wake       chan struct{}

	queued, published, received, applied, errs, claims atomic.Uint64
	offset, rtt                                        atomic.Int64 // Redis's clock minus ours; the round trip that measured it
}

// pending is a local change waiting to be published.
type pending struct {
	set   bool
	open  bool
	until time.Time
}

// SyncBreaker shares b's state with every replica that syncs a breaker on
// the same SyncConfig.Key through the same Redis, until Stop is called:
//
//   - When b opens by itself (failures, slow calls, failed probes), it sets
//     the key to "open until T", expiring at T, and announces it on the
//     channel; the other replicas apply b.OpenUntil(T), so they reject
//     calls too, and probe when the wait is over (or, with
//     SyncConfig.FleetProbe, one replica probes for all).
//   - When b closes because its half-open probes passed, it deletes the key
//     and announces it; the other replicas apply b.CloseNow.
//   - Changes applied from Redis (breaker.CauseExternal), manual states
//     (ForceOpen, Reset, ...) and half-open transitions are not shared.
//   - An announced opening never shortens a longer one, here or in the
//     key; a closing closes every replica (the last change wins). An
//     opening received is clamped to b's longest wait.
//
// T is carried in Redis's clock: each replica measures the offset of its
// clock from Redis's (TIME) in its round trips, so the replicas' clocks
// need not agree, and a message delayed in Redis or on the way does not
// stretch the opening (it ends at T everywhere, within the measurement's
// error, half a round trip).
//
// Before returning, SyncBreaker subscribes and adopts the state in the
// key, so that a replica starting while the others are open starts open.
// The start takes at most SyncConfig.Timeout, or until ctx's deadline if
// sooner; if Redis cannot be reached in that time, SyncBreaker returns an
// *UnavailableError and starts nothing, and the caller decides whether to
// run unshared. A key holding something else than a breaker state does
// not stop the start: it is reported to SyncConfig.OnError and ignored
// (the next opening overwrites it). Afterwards, changes are published from
// a goroutine, so the breaker's callers never wait for Redis; a failed
// publication is retried with backoff while it is still the latest change
// (an opening, until its wait ends), and a broken subscription is restored
// and the key read again. SyncBreaker does not close the client; call Stop
// before closing it.
func SyncBreaker(ctx context.Context, client redis.UniversalClient, b *breaker.Breaker, cfg SyncConfig) (*BreakerSync, error) {
	_, cluster := client.(*redis.ClusterClient)
	switch {
	case client == nil:
		return nil, errors.New("bulwarkredis: SyncBreaker: client is nil")
	case b == nil:
		return nil, errors.New("bulwarkredis: SyncBreaker: breaker is nil")
	case cfg.Key == "":
		return nil, errors.New("bulwarkredis: SyncConfig.Key is empty; set the Redis key every replica of the breaker shares")
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("bulwarkredis: SyncConfig.Timeout is %v; it must be positive, or 0 for the default %v", cfg.Timeout, DefaultSyncTimeout)
	case strings.ContainsAny(cfg.Instance, " \t\r\n"):
		return nil, fmt.Errorf("bulwarkredis: SyncConfig.Instance is %q; it may not contain white space", cfg.Instance)
	case cfg.Quorum < 0:
		return nil, fmt.Errorf("bulwarkredis: SyncConfig.Quorum is %d; it must be positive, or 0 for the default 1", cfg.Quorum)
	case cfg.QuorumWindow < 0:
		return nil, fmt.Errorf("bulwarkredis: SyncConfig.QuorumWindow is %v; it must be positive, or 0 for the default %v", cfg.QuorumWindow, DefaultQuorumWindow)
	case cfg.ProbeLease < 0:
		return nil, fmt.Errorf("bulwarkredis: SyncConfig.ProbeLease is %v; it must be positive, or 0 for the default %v", cfg.ProbeLease, DefaultProbeLease)
	case cluster && cfg.Quorum > 1 && !hasHashTag(cfg.Key):
		return nil, fmt.Errorf("bulwarkredis: SyncConfig.Key is %q; with Quorum on Redis Cluster it needs a hash tag, as in \"bulwark:{payments}\"", cfg.Key)
	}
	s := &BreakerSync{
		client: client, b: b, key: cfg.Key, instance: cfg.Instance,
		timeout: cfg.Timeout, direct: trustsDeadlines(client), secret: cfg.Secret,
		sharded: cfg.Sharded || cluster, pubCmd: "PUBLISH", quorum: max(cfg.Quorum, 1),
		window: cfg.QuorumWindow, fleetProbe: cfg.FleetProbe, probeLease: cfg.ProbeLease,
		onError: cfg.OnError, wake: make(chan struct{}, 1),
	}
	if s.sharded {
		s.pubCmd = "SPUBLISH"
	}
	if s.timeout == 0 {
		s.timeout = DefaultSyncTimeout
	}
	if s.window == 0 {
		s.window = DefaultQuorumWindow
	}
	if s.probeLease == 0 {
		s.probeLease = DefaultProbeLease
	}
	if s.instance == "" {
		var id [8]byte
		_, _ = rand.Read(id[:])
		s.instance = hex.EncodeToString(id[:])
	}

	// The listener first, so that no local change is missed; it only
	// queues until the publisher starts.
	s.remove = b.AddListener(s.onChange)
	ps, res, err := s.start(ctx)
	if err != nil {
		s.remove()
		return nil, err
	}
	life, stop := context.WithCancel(context.Background())
	s.mu.Lock()
	s.ps, s.life, s.cancel = ps, life, stop
	s.mu.Unlock()
	s.adoptReply(res.reply, res.t0, res.t1)
	s.wg.Add(2)
	go s.receive(life)
	go s.publishLoop(life)
	s.mu.Lock()
	pendingChange := s.next.set
	s.mu.Unlock()
	if pendingChange {
		s.kick()
	}
	if st := b.Snapshot(); s.fleetProbe && st.State == breaker.StateOpen {
		s.armProbe(st.OpenUntil)
	}
	return s, nil
}

func hasHashTag(key string) bool {
	i := strings.IndexByte(key, '{')
	return i >= 0 && strings.IndexByte(key[i+1:], '}') > 0
}

// startResult is what the start read from Redis.
type startResult struct {
	ps     *redis.PubSub
	reply  []any
	t0, t1 time.Time
	err    error
}

// start subscribes and reads the key, within the start's deadline
// whatever the client's options: the work runs on a goroutine that is
// abandoned (and closes its subscription) if the deadline passes first.
func (s *BreakerSync) start(ctx context.Context) (*redis.PubSub, startResult, error) {
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var mu sync.Mutex
	gaveUp := false
	done := make(chan startResult, 1)
	go func() {
		var r startResult
		if s.sharded {
			r.ps = s.client.SSubscribe(cctx, s.key)
		} else {
			r.ps = s.client.Subscribe(cctx, s.key)
		}
		if err := s.confirm(cctx, r.ps); err != nil {
			r.err = &UnavailableError{Name: s.key, Op: "subscribe", Err: err}
		} else {
			r.t0 = time.Now()
			r.reply, err = readScript.Run(cctx, s.client, []string{s.key}).Slice()
			r.t1 = time.Now()
			if err != nil {
				r.err = &UnavailableError{Name: s.key, Op: "read", Err: err}
			}
		}
		mu.Lock()
		abandoned := gaveUp
		if !abandoned {
			done <- r
		}
		mu.Unlock()
		if abandoned || r.err != nil {
			_ = r.ps.Close()
		}
	}()
	select {
	case r := <-done:
		return r.ps, r, r.err
	case <-cctx.Done():
		mu.Lock()
		gaveUp = true
		var late *startResult
		select {
		case r := <-done:
			late = &r
		default:
		}
		mu.Unlock()
		if late != nil && late.err == nil {
			_ = late.ps.Close()
		}
		return nil, startResult{}, &UnavailableError{Name: s.key, Op: "subscribe", Err: cctx.Err()}
	}
}

// confirm waits for the server to confirm the subscription.
func (s *BreakerSync) confirm(ctx context.Context, ps *redis.PubSub) error {
	for {
		msg, err := ps.ReceiveTimeout(ctx, s.timeout)
		if err != nil {
			return err
		}
		if sub, ok := msg.(*redis.Subscription); ok && (sub.Kind == "subscribe" || sub.Kind == "ssubscribe") {
			return nil
		}
	}
}

// Stop stops sharing: it removes the listener from the breaker, ends the
// subscription and waits for the BreakerSync's goroutines to return. A
// change not yet published is dropped. The breaker keeps its state, and the
// key is left to expire. Stop may be called more than once.
func (s *BreakerSync) Stop() {
	s.stopOnce.Do(func() {
		s.remove()
		s.mu.Lock()
		s.stopped = true
		if s.probeTimer != nil {
			s.probeTimer.Stop()
		}
		s.mu.Unlock()
		s.cancel()
		_ = s.ps.Close()
		s.wg.Wait()
	})
}

// onChange is the breaker listener: it queues the local changes to share.
// It runs on whatever goroutine changed the breaker, so it only records the
// change and wakes the publisher.
func (s *BreakerSync) onChange(c breaker.Change) {
	if s.fleetProbe && c.To == breaker.StateOpen {
		s.armProbe(c.Until)
	}
	if c.Cause == breaker.CauseExternal {
		return // applied from Redis: do not echo it
	}
	var p pending
	switch {
	case c.To == breaker.StateOpen:
		p = pending{set: true, open: true, until: c.Until}
	case c.To == breaker.StateClosed && c.Cause == breaker.CauseProbesPassed:
		p = pending{set: true}
	default:
		return
	}
	s.mu.Lock()
	s.next = p
	s.mu.Unlock()
	s.queued.Add(1)
	s.kick()
}

func (s *BreakerSync) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// publishLoop publishes the latest local change whenever there is one,
// retrying with backoff.
func (s *BreakerSync) publishLoop(ctx context.Context) {
	defer s.wg.Done()
	backoff := minBackoff
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			p := s.next
			s.next = pending{}
			s.mu.Unlock()
			if !p.set {
				break
			}
			err := s.publish(ctx, p)
			if err == nil {
				backoff = minBackoff
				continue
			}
			if ctx.Err() != nil {
				return
			}
			s.report(err)
			s.mu.Lock()
			if !s.next.set { // no newer change: try this one again
				s.next = p
			}
			s.mu.Unlock()
			if !sleep(ctx, backoff, s.wake) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
		}
	}
}

// serverNow returns this replica's estimate of Redis's clock.
func (s *BreakerSync) serverNow() time.Time {
	return time.Now().Add(time.Duration(s.offset.Load()))
}

// publish announces p, unless it is an opening whose wait is over.
func (s *BreakerSync) publish(ctx context.Context, p pending) error {
	m := message{open: p.open, instance: s.instance}
	if p.open {
		if time.Until(p.until) < time.Millisecond {
			return nil
		}
		m.at = p.until.Add(time.Duration(s.offset.Load())).UnixMilli()
	} else {
		m.at = s.serverNow().UnixMilli()
	}
	op := "close"
	if p.open {
		op = "open"
	}
	keys := []string{s.key}
	args := []any{op, m.format(s.key, s.secret), strconv.FormatInt(m.at, 10), s.pubCmd,
		strconv.FormatInt(s.b.Snapshot().LongestWait.Milliseconds()+1, 10)}
	if s.quorum > 1 {
		keys = append(keys, s.key+":votes")
		args = append(args, strconv.Itoa(s.quorum), strconv.FormatInt(s.window.Milliseconds(), 10), s.instance)
	}
	var res []any
	t0 := time.Now()
	err := bounded(ctx, s.timeout, s.direct, func(ctx context.Context) error {
		var err error
		res, err = publishScript.Run(ctx, s.client, keys, args...).Slice()
		return err
	})
	t1 := time.Now()
	if err != nil {
		return &UnavailableError{Name: s.key, Op: "publish", Err: err}
	}
	if len(res) == 3 {
		s.measure(res[1], res[2], t0, t1)
		if n, _ := res[0].(int64); n == 1 {
			s.published.Add(1)
		}
	}
	if !p.open && s.fleetProbe {
		_ = bounded(ctx, s.timeout, s.direct, func(ctx context.Context) error {
			return s.client.Del(ctx, s.key+":probe").Err()
		})
	}
	return nil
}

// measure updates the offset of Redis's clock from a TIME read between t0
// and t1, unless the round trip was much slower than the last one kept
// (a stalled server would skew it by up to half the stall).
func (s *BreakerSync) measure(sec, usec any, t0, t1 time.Time) {
	secs, err1 := strconv.ParseInt(fmt.Sprint(sec), 10, 64)
	usecs, err2 := strconv.ParseInt(fmt.Sprint(usec), 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	rtt := t1.Sub(t0)
	if last := time.Duration(s.rtt.Load()); last > 0 && rtt > 20*time.Millisecond && rtt > 2*last {
		return
	}
	server := time.Unix(secs, usecs*1000)
	s.offset.Store(int64(server.Sub(t0.Add(rtt / 2))))
	s.rtt.Store(int64(max(rtt, 1)))
}

// receive applies the other replicas' announcements until ctx ends.
func (s *BreakerSync) receive(ctx context.Context) {
	defer s.wg.Done()
	backoff := minBackoff
	for {
		msg, err := s.ps.ReceiveTimeout(ctx, healthInterval)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Quiet for a while: ping, so that a dead connection fails
				// the next read and is replaced, and read Redis's clock
				// again.
				pctx, cancel := context.WithTimeout(ctx, s.timeout)
				_ = s.ps.Ping(pctx)
				cancel()
				s.readClock(ctx)
				continue
			}
			s.report(&UnavailableError{Name: s.key, Op: "subscribe", Err: err})
			if !sleep(ctx, backoff, nil) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
		switch m := msg.(type) {
		case *redis.Subscription:
			// Subscribed again after a reconnection: announcements may
			// have been missed meanwhile, so read the key again.
			if m.Kind == "subscribe" || m.Kind == "ssubscribe" {
				if err := s.adopt(ctx); err != nil && ctx.Err() == nil {
					s.report(err)
				}
			}
		case *redis.Message:
			s.handle(m.Payload)
		}
	}
}

// readClock measures Redis's clock.
func (s *BreakerSync) readClock(ctx context.Context) {
	var t []any
	t0 := time.Now()
	err := bounded(ctx, s.timeout, s.direct, func(ctx context.Context) error {
		var err error
		t, err = s.client.Do(ctx, "TIME").Slice()
		return err
	})
	if err == nil && len(t) == 2 {
		s.measure(t[0], t[1], t0, time.Now())
	}
}

// handle applies one announcement.
func (s *BreakerSync) handle(payload string) {
	m, err := parseMessage(s.key, payload, s.secret)
	if err != nil {
		s.report(&StateError{Name: s.key, Key: s.key, Problem: "message ignored: " + err.Error()})
		return
	}
	if m.instance == s.instance {
		return
	}
	s.received.Add(1)
	if m.open {
		s.applyOpen(m)
		return
	}
	if age := s.serverNow().Sub(time.UnixMilli(m.at)); age > maxCloseAge || age < -maxCloseAge {
		s.report(&StateError{Name: s.key, Key: s.key, Problem: fmt.Sprintf(
			"closing by %q ignored: sent %v from now on Redis's clock (a replay, or stuck)", m.instance, -age.Round(time.Millisecond))})
		return
	}
	if st := s.b.State(); st == breaker.StateOpen || st == breaker.StateHalfOpen {
		s.applied.Add(1) // first: CloseNow may run the listeners before it returns
		s.b.CloseNow()
	}
}

// applyOpen opens the breaker until the end m carries, converted to this
// replica's clock and clamped to the breaker's longest wait, unless it is
// already open for longer.
func (s *BreakerSync) applyOpen(m message) {
	until := time.UnixMilli(m.at).Add(-time.Duration(s.offset.Load()))
	snap := s.b.Snapshot()
	now := time.Now()
	if left := until.Sub(now); left > snap.LongestWait {
		s.report(&StateError{Name: s.key, Key: s.key, Problem: fmt.Sprintf(
			"an opening by %q of %v clamped to the breaker's longest wait, %v", m.instance, left.Round(time.Millisecond), snap.LongestWait)})
		until = now.Add(snap.LongestWait)
	}
	if !until.After(now) || (snap.State == breaker.StateOpen && !snap.OpenUntil.Before(until)) {
		return
	}
	s.applied.Add(1)
	s.b.OpenUntil(until)
	if s.fleetProbe && snap.State == breaker.StateOpen {
		s.armProbe(until) // open to open tells no listener
	}
}

// adopt reads the key and applies the opening it holds, if any.
func (s *BreakerSync) adopt(ctx context.Context) error {
	var res []any
	t0 := time.Now()
	err := bounded(ctx, s.timeout, s.direct, func(ctx context.Context) error {
		var err error
		res, err = readScript.Run(ctx, s.client, []string{s.key}).Slice()
		return err
	})
	if err != nil {
		return &UnavailableError{Name: s.key, Op: "read", Err: err}
	}
	s.adoptReply(res, t0, time.Now())
	return nil
}

// adoptReply applies the key's value read by readScript between t0 and
// t1; what is not a breaker state is reported and ignored.
func (s *BreakerSync) adoptReply(res []any, t0, t1 time.Time) {
	if len(res) != 3 {
		s.report(&StateError{Name: s.key, Key: s.key, Problem: fmt.Sprintf("unexpected reply reading it: %.80v", res)})
		return
	}
	s.measure(res[1], res[2], t0, t1)
	m, err := parseState(s.key, res[0], s.secret)
	if err != nil {
		s.report(&StateError{Name: s.key, Key: s.key, Problem: err.Error() + "; ignored"})
		return
	}
	if !m.open || m.instance == s.instance {
		return
	}
	s.applyOpen(m)
}

// parseState reads the key's value as readScript returns it: nil when
// the key is absent, a string, or {"type", name} for another type.
func parseState(key string, v any, secret []byte) (message, error) {
	switch v := v.(type) {
	case nil:
		return message{}, nil
	case string:
		m, err := parseMessage(key, v, secret)
		if err == nil && !m.open {
			return message{}, fmt.Errorf("holds a closing, %.80q, which is never stored", v)
		}
		return m, err
	case []any:
		if len(v) == 2 && v[0] == "type" {
			return message{}, fmt.Errorf("holds a %.20v, not a string", v[1])
		}
	}
	return message{}, fmt.Errorf("unexpected value %.80v", v)
}

// armProbe schedules the claim of the probe token for the probing that
// starts at until, a little before it.
func (s *BreakerSync) armProbe(until time.Time) {
	lead := min(s.timeout, time.Until(until)/2)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	if s.probeTimer != nil {
		s.probeTimer.Stop()
	}
	s.probeTimer = time.AfterFunc(time.Until(until)-lead, func() {
		s.mu.Lock()
		if s.stopped || s.life == nil {
			s.mu.Unlock()
			return
		}
		s.wg.Add(1)
		s.mu.Unlock()
		defer s.wg.Done()
		s.claimProbe(s.life, until)
	})
}

// claimScript claims KEYS[1] for ARGV[1] for ARGV[2] ms (again, if it
// holds it already), or returns who holds it and for how long: {1} or {0,
// holder, ms left}.
var claimScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1} end
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1}
end
return {0, holder, redis.call('PTTL', KEYS[1])}
`)

// claimProbe claims the probe token for the probing that starts at until;
// if another replica holds it, the breaker stays open until it expires.
func (s *BreakerSync) claimProbe(ctx context.Context, until time.Time) {
	snap := s.b.Snapshot()
	if snap.State != breaker.StateOpen || !snap.OpenUntil.Equal(until) {
		return // the opening moved on; its own timer claims
	}
	ms := (time.Until(until) + s.probeLease).Milliseconds()
	var res []any
	err := bounded(ctx, s.timeout, s.direct, func(ctx context.Context) error {
		var err error
		res, err = claimScript.Run(ctx, s.client, []string{s.key + ":probe"}, s.instance, strconv.FormatInt(ms, 10)).Slice()
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			s.report(&UnavailableError{Name: s.key, Op: "probe", Err: err}) // probe locally
		}
		return
	}
	if len(res) == 1 {
		s.claims.Add(1)
		return
	}
	if len(res) != 3 || res[1] == s.instance {
		return
	}
	left, _ := res[2].(int64)
	if left <= 0 {
		return
	}
	until = time.Now().Add(min(time.Duration(left)*time.Millisecond, snap.LongestWait))
	s.b.OpenUntil(until)
	s.armProbe(until) // open to open tells no listener
}

func (s *BreakerSync) report(err error) {
	s.errs.Add(1)
	if s.onError != nil {
		s.onError(err)
	}
}

// sleep waits d, or until wake (if not nil) has a value or ctx ends; it
// reports whether ctx is still going.
func sleep(ctx context.Context, d time.Duration, wake chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake: // a newer change: publish it now
	}
	return true
}

// SyncSnapshot holds a BreakerSync's live figures.
type SyncSnapshot struct {
	Key      string // SyncConfig.Key
	Instance string // this replica's instance name
	// Queued counts the local changes handed to the publisher; Published
	// those announced (changes that followed each other quickly are
	// announced once, as the latest; with a Quorum, openings that were
	// only votes are not counted).
	Queued, Published uint64
	// Received counts the other replicas' announcements; Applied those
	// that changed the local breaker (OpenUntil or CloseNow).
	Received, Applied uint64
	// ProbeClaims counts the probe tokens this replica won (FleetProbe).
	ProbeClaims uint64
	// Errors counts failures told to SyncConfig.OnError.
	Errors uint64
	// ClockSkew is Redis's clock minus this replica's, measured with TIME
	// in the last round trip that was not much slower than the one before,
	// within ClockError (half that round trip). Openings are converted
	// with it.
	ClockSkew, ClockError time.Duration
}

// Snapshot returns the current figures.
func (s *BreakerSync) Snapshot() SyncSnapshot {
	return SyncSnapshot{
		Key: s.key, Instance: s.instance,
		Queued: s.queued.Load(), Published: s.published.Load(),
		Received: s.received.Load(), Applied: s.applied.Load(),
		ProbeClaims: s.claims.Load(),
		Errors:      s.errs.Load(), ClockSkew: time.Duration(s.offset.Load()),
		ClockError: time.Duration(s.rtt.Load()) / 2,
	}
}
