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
	// breaker uses the same Key, say "bulwark:breaker:payments". Required.
	Key string

	// Instance identifies this replica in messages, so that it ignores its
	// own. It may not contain white space. Default: 16 random hex digits,
	// new for each SyncBreaker call.
	Instance string

	// Timeout bounds each call to Redis: reading the key, publishing a
	// change (see LimiterConfig.Timeout about go-redis and context
	// deadlines). Default: [DefaultSyncTimeout], 1 second. Negative values
	// are an error.
	Timeout time.Duration

	// OnError, if set, is told of every failure after SyncBreaker has
	// returned: a publication that failed (it is retried), a broken
	// subscription (it is restored), an unreadable message. Errors from
	// Redis are *UnavailableError. It runs on the BreakerSync's own
	// goroutines, possibly concurrently. Default: nil.
	OnError func(err error)
}

// BreakerSync shares a breaker's openings and closings with the other
// replicas of a service through Redis; see [SyncBreaker]. It is safe for
// concurrent use.
type BreakerSync struct {
	client   redis.UniversalClient
	b        *breaker.Breaker
	key      string
	instance string
	timeout  time.Duration
	onError  func(error)
	ps       *redis.PubSub
	remove   func()
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once

	mu   sync.Mutex
	next pending // the latest local change not yet published
	wake chan struct{}

	queued, published, received, applied, errs atomic.Uint64
	skew                                       atomic.Int64
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
//     channel; the other replicas apply b.OpenUntil with the time left, so
//     they reject calls too, and probe when the wait is over.
//   - When b closes because its half-open probes passed, it deletes the key
//     and announces it; the other replicas apply b.CloseNow.
//   - Changes applied from Redis (breaker.CauseExternal), manual states
//     (ForceOpen, Reset, ...) and half-open transitions are not shared.
//   - An announced opening never shortens a longer one, here or in the
//     key; a closing closes every replica (the last change wins).
//
// Before returning, SyncBreaker subscribes and adopts the state in the key,
// so that a replica starting while the others are open starts open. ctx
// bounds that start; if Redis cannot be reached, SyncBreaker returns an
// *UnavailableError and starts nothing, and the caller decides whether to
// run unshared. Afterwards, changes are published from a goroutine, so the
// breaker's callers never wait for Redis; a failed publication is retried
// with backoff while it is still the latest change (an opening, until its
// wait ends), and a broken subscription is restored and the key read again.
// Failures go to SyncConfig.OnError.
//
// Times cross the wire as durations: receivers apply the time left, so the
// replicas' clocks need not agree (a replica stays open longer by the
// delivery time of the message, typically under a millisecond).
// SyncBreaker does not close the client; call Stop before closing it.
func SyncBreaker(ctx context.Context, client redis.UniversalClient, b *breaker.Breaker, cfg SyncConfig) (*BreakerSync, error) {
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
	}
	s := &BreakerSync{
		client: client, b: b, key: cfg.Key, instance: cfg.Instance,
		timeout: cfg.Timeout, onError: cfg.OnError, wake: make(chan struct{}, 1),
	}
	if s.timeout == 0 {
		s.timeout = DefaultSyncTimeout
	}
	if s.instance == "" {
		var id [8]byte
		_, _ = rand.Read(id[:])
		s.instance = hex.EncodeToString(id[:])
	}

	// Subscribe first and read the key second, so that no change falls
	// between the two.
	sctx, cancel := context.WithTimeout(ctx, s.timeout)
	s.ps = client.Subscribe(sctx, s.key)
	err := s.confirm(sctx)
	cancel()
	if err != nil {
		_ = s.ps.Close()
		return nil, &UnavailableError{Name: s.key, Op: "subscribe", Err: err}
	}
	s.remove = b.AddListener(s.onChange)
	if err := s.adopt(ctx); err != nil {
		s.remove()
		_ = s.ps.Close()
		return nil, err
	}
	life, stop := context.WithCancel(context.Background())
	s.cancel = stop
	s.wg.Add(2)
	go s.receive(life)
	go s.publishLoop(life)
	return s, nil
}

// confirm waits for the server to confirm the subscription.
func (s *BreakerSync) confirm(ctx context.Context) error {
	for {
		msg, err := s.ps.ReceiveTimeout(ctx, s.timeout)
		if err != nil {
			return err
		}
		if sub, ok := msg.(*redis.Subscription); ok && sub.Kind == "subscribe" {
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
		s.cancel()
		_ = s.ps.Close()
		s.wg.Wait()
	})
}

// onChange is the breaker listener: it queues the local changes to share.
// It runs on whatever goroutine changed the breaker, so it only records the
// change and wakes the publisher.
func (s *BreakerSync) onChange(c breaker.Change) {
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

// publish announces p, unless it is an opening whose wait is over.
func (s *BreakerSync) publish(ctx context.Context, p pending) error {
	args := []any{"close", s.instance}
	if p.open {
		left := time.Until(p.until).Milliseconds()
		if left < 1 {
			return nil
		}
		args = []any{"open", s.instance, strconv.FormatInt(p.until.UnixMilli(), 10), strconv.FormatInt(left, 10)}
	}
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := publishScript.Run(cctx, s.client, []string{s.key}, args...).Err(); err != nil {
		return &UnavailableError{Name: s.key, Op: "publish", Err: err}
	}
	s.published.Add(1)
	return nil
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
				// the next read and is replaced.
				pctx, cancel := context.WithTimeout(ctx, s.timeout)
				_ = s.ps.Ping(pctx)
				cancel()
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
			if m.Kind == "subscribe" {
				if err := s.adopt(ctx); err != nil && ctx.Err() == nil {
					s.report(err)
				}
			}
		case *redis.Message:
			s.handle(m.Payload)
		}
	}
}

// handle applies one announcement.
func (s *BreakerSync) handle(payload string) {
	m, err := parseMessage(payload, true)
	if err != nil {
		s.report(err)
		return
	}
	if m.instance == s.instance {
		return
	}
	s.received.Add(1)
	if m.open {
		s.applyOpen(m, time.Now())
		return
	}
	if st := s.b.State(); st == breaker.StateOpen || st == breaker.StateHalfOpen {
		s.applied.Add(1) // first: CloseNow may run the listeners before it returns
		s.b.CloseNow()
	}
}

// applyOpen opens the breaker for m.left from now, unless it is already
// open for longer.
func (s *BreakerSync) applyOpen(m message, now time.Time) {
	until := now.Add(m.left)
	s.skew.Store(int64(m.until.Sub(until)))
	if snap := s.b.Snapshot(); snap.State == breaker.StateOpen && !snap.OpenUntil.Before(until) {
		return
	}
	s.applied.Add(1)
	s.b.OpenUntil(until)
}

// adopt reads the key and applies the opening it holds, if any.
func (s *BreakerSync) adopt(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	res, err := readScript.Run(cctx, s.client, []string{s.key}).Slice()
	cancel()
	if err != nil {
		return &UnavailableError{Name: s.key, Op: "read", Err: err}
	}
	if len(res) != 2 {
		return fmt.Errorf("bulwarkredis: unexpected reply reading breaker state %q: %v", s.key, res)
	}
	val, _ := res[0].(string)
	pttl, _ := res[1].(int64)
	if val == "" || pttl <= 0 {
		return nil // closed, or expiring this instant
	}
	m, err := parseMessage(val, false)
	if err != nil {
		return err
	}
	if m.instance == s.instance {
		return nil
	}
	m.left = time.Duration(pttl) * time.Millisecond
	s.applyOpen(m, time.Now())
	return nil
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
	// announced once, as the latest).
	Queued, Published uint64
	// Received counts the other replicas' announcements; Applied those
	// that changed the local breaker (OpenUntil or CloseNow).
	Received, Applied uint64
	// Errors counts failures told to SyncConfig.OnError.
	Errors uint64
	// ClockSkew is, for the last opening received, the sender's absolute
	// end of the wait minus the local one (now plus the time left): about
	// the sender's clock minus this one's, less the delivery time.
	ClockSkew time.Duration
}

// Snapshot returns the current figures.
func (s *BreakerSync) Snapshot() SyncSnapshot {
	return SyncSnapshot{
		Key: s.key, Instance: s.instance,
		Queued: s.queued.Load(), Published: s.published.Load(),
		Received: s.received.Load(), Applied: s.applied.Load(),
		Errors: s.errs.Load(), ClockSkew: time.Duration(s.skew.Load()),
	}
}
