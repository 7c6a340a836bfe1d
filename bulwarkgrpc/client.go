package bulwarkgrpc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/perkey"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

// Defaults used when a ClientConfig field is zero.
const (
	// DefaultMaxBreakers bounds the breakers a Client keeps.
	DefaultMaxBreakers = 1000
	// DefaultMaxReplayBytes bounds the messages a stream keeps for replay.
	DefaultMaxReplayBytes = 256 << 10
	// DefaultMaxPushback is the longest delay a server may ask for and
	// still be retried, when ClientConfig.MaxPushback is zero.
	DefaultMaxPushback = 30 * time.Second
)

// DefaultRetryCodes are the status codes retried when
// ClientConfig.RetryCodes is nil: Unavailable (the server could not take the
// call; nothing was done) and ResourceExhausted (a quota or an overloaded
// server, usually with a delay to honour).
var DefaultRetryCodes = []codes.Code{codes.Unavailable, codes.ResourceExhausted}

// ClientConfig configures a [Client]. The zero value is valid and adds
// nothing: every policy is off until its field is set.
type ClientConfig struct {
	// Retry turns retries on, for the codes in RetryCodes and for attempts
	// that ran out of AttemptTimeout. A delay the server sends in a
	// google.rpc.RetryInfo detail (or, for a unary call without one, in
	// the PushbackTrailer, where a negative value means do not retry)
	// replaces the backoff's (capped by
	// Retry.MaxRetryAfter, as for any delay a dependency asks for); a call
	// whose server asks for longer than MaxPushback is not retried. When the retries run out, the error is a
	// *retry.ExhaustedError wrapping the last status error: status.Code
	// and status.FromError see that status through it. Retry.IsRetryableResult and Retry.AttemptTimeout
	// must be left unset; Retry.IsRetryable can only refuse more. Streams are
	// retried only until their first response message arrives (see
	// [Client.StreamInterceptor]). Default: nil, no retries.
	Retry *retry.Config
	// RetryCodes are the status codes worth retrying. Default: nil,
	// DefaultRetryCodes.
	RetryCodes []codes.Code
	// MaxPushback is the longest delay a server may ask for (RetryInfo)
	// for the call to be retried: a longer one returns the error to the
	// caller at once, unwrapped, rather than wait. (Retry.MaxRetryAfter
	// caps the wait of a delay that is retried.) It must not be negative.
	// Default: 0, DefaultMaxPushback (30 s).
	MaxPushback time.Duration
	// AttemptTimeout bounds each attempt of a unary call (the caller's own
	// deadline still bounds the whole call, waits included, and goes to the
	// server with each attempt). An attempt counts as timed out (retried,
	// and a *timeout.ExceededError) only when its own deadline passed; a
	// DeadlineExceeded the server answers before then is the server's.
	// Streams ignore it. Default: 0, none.
	AttemptTimeout time.Duration

	// Breaker is the template of the breakers, one per key (see BreakerKey),
	// made the first time a key is seen and named "<Name>:<key>" (or the
	// key when Name is empty). Its IsFailure, IsIgnored and IsFailureResult
	// are not used: IsFailure below classifies. An open breaker fails a call
	// at once with a status error Unavailable (carrying the time to wait)
	// that unwraps to the *breaker.OpenError; it is not retried. Default:
	// nil, no breaker.
	Breaker *breaker.Config
	// BreakerKey gives the key of a call's breaker from the connection's
	// target and the full method name ("/pkg.Service/Method"). Default:
	// nil, [PerMethod]; [PerTarget] gives one breaker per connection target.
	BreakerKey func(target, method string) string
	// MaxBreakers bounds the breakers kept; a new key finding the map full
	// forgets one whose breaker is closed (else any). Default:
	// DefaultMaxBreakers (1000).
	MaxBreakers int
	// Watchers are told of each breaker when it is made (Watch) and when it
	// is forgotten to make room (Unwatch), so that metrics and health
	// checks follow every breaker, including one made again for a key that
	// was forgotten: a *prommetrics.Metrics, an *otelmetrics.Metrics, a
	// *health.Health or the watcher health.Health.Critical returns. They
	// are called in the order the breakers come and go, one change at a
	// time, and must not make calls through this Client. An error from
	// Watch (a policy of the same name watched by hand) is dropped: the
	// breaker is then not watched by that watcher. Default: nil.
	Watchers []Watcher
	// IsFailure reports whether a call's error counts as a failure for the
	// breaker. The caller's own cancellation is never counted. Default: nil,
	// the codes Unavailable, DeadlineExceeded, Internal, Unknown and
	// DataLoss (errors of the server, not of the request).
	IsFailure func(err error) bool

	// MaxReplayBytes bounds the request messages a stream keeps to send
	// again on a new attempt (measured with proto.Size). A stream that sends
	// more is no longer retried. Default: DefaultMaxReplayBytes (256 KiB).
	MaxReplayBytes int
}

// A Watcher follows the breakers a [Client] makes on first use and
// forgets: prommetrics.Metrics, otelmetrics.Metrics and health.Health (and
// health.Health.Critical's result) are Watchers.
type Watcher interface {
	Watch(policies ...any) error
	Unwatch(policies ...any)
}

// PerMethod is a ClientConfig.BreakerKey giving a breaker to each method.
func PerMethod(_, method string) string { return method }

// PerTarget is a ClientConfig.BreakerKey giving a breaker to each target.
func PerTarget(target, _ string) string { return target }

// Client holds the client-side policies and gives them to a connection as
// interceptors:
//
//	c, err := bulwarkgrpc.NewClient(bulwarkgrpc.ClientConfig{...})
//	...
//	conn, err := grpc.NewClient(target, append(c.DialOptions(), grpc.WithTransportCredentials(creds))...)
//
// A Client is safe for concurrent use and may serve many connections.
type Client struct {
	retry          *retry.Retry
	maxAttempts    int // 0: no limit
	maxPushback    time.Duration
	retryCodes     []codes.Code
	userRetryable  func(error) bool
	attemptTimeout time.Duration
	breakers       *perkey.Map[*breaker.Breaker] // nil: no breaker
	breakerKey     func(target, method string) string
	isFailure      func(error) bool
	maxReplay      int
}

// NewClient returns a Client configured by c, or an error naming the first
// invalid field.
func NewClient(c ClientConfig) (*Client, error) {
	cl := &Client{
		retryCodes:     c.RetryCodes,
		attemptTimeout: c.AttemptTimeout,
		breakerKey:     c.BreakerKey,
		isFailure:      c.IsFailure,
		maxReplay:      c.MaxReplayBytes,
	}
	switch {
	case c.AttemptTimeout < 0:
		return nil, fmt.Errorf("bulwarkgrpc: ClientConfig.AttemptTimeout must not be negative (got %v)", c.AttemptTimeout)
	case c.MaxBreakers < 0:
		return nil, fmt.Errorf("bulwarkgrpc: ClientConfig.MaxBreakers must not be negative (got %d)", c.MaxBreakers)
	case c.MaxReplayBytes < 0:
		return nil, fmt.Errorf("bulwarkgrpc: ClientConfig.MaxReplayBytes must not be negative (got %d)", c.MaxReplayBytes)
	case c.MaxPushback < 0:
		return nil, fmt.Errorf("bulwarkgrpc: ClientConfig.MaxPushback must not be negative (got %v)", c.MaxPushback)
	case len(c.Watchers) > 0 && c.Breaker == nil:
		return nil, errors.New("bulwarkgrpc: ClientConfig.Watchers is set but Breaker is nil")
	}
	for i, w := range c.Watchers {
		if w == nil {
			return nil, fmt.Errorf("bulwarkgrpc: ClientConfig.Watchers[%d] is nil", i)
		}
	}
	if cl.retryCodes == nil {
		cl.retryCodes = DefaultRetryCodes
	}
	if cl.breakerKey == nil {
		cl.breakerKey = PerMethod
	}
	if cl.isFailure == nil {
		cl.isFailure = defaultIsFailure
	}
	if cl.maxReplay == 0 {
		cl.maxReplay = DefaultMaxReplayBytes
	}
	if c.Retry != nil {
		rc := *c.Retry
		switch {
		case rc.IsRetryableResult != nil:
			return nil, errors.New("bulwarkgrpc: ClientConfig.Retry.IsRetryableResult must be nil")
		case rc.AttemptTimeout != 0:
			return nil, errors.New("bulwarkgrpc: ClientConfig.Retry.AttemptTimeout must be 0 (use ClientConfig.AttemptTimeout)")
		}
		cl.userRetryable = rc.IsRetryable
		rc.IsRetryable = cl.shouldRetry
		r, err := retry.New(rc)
		if err != nil {
			return nil, fmt.Errorf("bulwarkgrpc: ClientConfig.Retry: %w", err)
		}
		cl.retry = r
		cl.maxPushback = c.MaxPushback
		if cl.maxPushback == 0 {
			cl.maxPushback = DefaultMaxPushback
		}
		switch cl.maxAttempts = rc.MaxAttempts; cl.maxAttempts {
		case 0:
			cl.maxAttempts = retry.DefaultMaxAttempts
		case retry.Unlimited:
			cl.maxAttempts = 0
		}
	}
	if c.Breaker != nil {
		bc := *c.Breaker
		bc.IsFailure, bc.IsIgnored, bc.IsFailureResult = nil, nil, nil
		if _, err := breaker.New(bc); err != nil {
			return nil, fmt.Errorf("bulwarkgrpc: ClientConfig.Breaker: %w", err)
		}
		max := c.MaxBreakers
		if max == 0 {
			max = DefaultMaxBreakers
		}
		pc := perkey.Config[*breaker.Breaker]{
			Max: max,
			New: func(key string) (*breaker.Breaker, error) {
				cfg := bc
				if cfg.Name == "" {
					cfg.Name = key
				} else {
					cfg.Name += ":" + key
				}
				return breaker.New(cfg)
			},
			Keep: func(b *breaker.Breaker) bool { return b.State() != breaker.StateClosed },
		}
		if ws := slices.Clone(c.Watchers); len(ws) > 0 {
			pc.Made = func(b *breaker.Breaker) {
				for _, w := range ws {
					_ = w.Watch(b) // see ClientConfig.Watchers
				}
			}
			pc.Forgotten = func(b *breaker.Breaker) {
				for _, w := range ws {
					w.Unwatch(b)
				}
			}
		}
		cl.breakers = perkey.New(pc)
	}
	return cl, nil
}

func defaultIsFailure(err error) bool {
	switch Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Internal, codes.Unknown, codes.DataLoss:
		return true
	}
	return false
}

// DialOptions returns the unary and stream interceptors as dial options,
// with grpc.WithDisableRetry(): the connection then makes no retries of
// its own, even when a service config (from the resolver, or
// grpc.WithDefaultServiceConfig) has a retryPolicy, so that every request
// the server sees is an attempt the retry policy, its budget and the
// breaker counted. Without it grpc-go's retries would run under each of
// this Client's attempts, unseen: with both set to 3 attempts, a failing
// server sees 9. (grpc-go's transparent retries remain: they resend only
// a request that never reached the server's application.)
func (c *Client) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(c.UnaryInterceptor()),
		grpc.WithChainStreamInterceptor(c.StreamInterceptor()),
		grpc.WithDisableRetry(),
	}
}

// Breakers returns the breakers made so far, by key.
func (c *Client) Breakers() map[string]*breaker.Breaker {
	if c.breakers == nil {
		return nil
	}
	return c.breakers.All()
}

// shouldRetry is the retry policy's IsRetryable.
func (c *Client) shouldRetry(err error) bool {
	switch {
	case errors.Is(err, errAttemptTimeout):
	default:
		code := Code(err)
		found := false
		for _, rc := range c.retryCodes {
			if rc == code {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return c.userRetryable == nil || c.userRetryable(err)
}

var errAttemptTimeout = errors.New("bulwarkgrpc: attempt timed out")

// record reports a finished call to its breaker's permit.
func (c *Client) record(ctx context.Context, p breaker.Permit, err error) {
	switch {
	case err == nil:
		p.Done(nil)
	case ctx.Err() != nil && (Code(err) == codes.Canceled || Code(err) == codes.DeadlineExceeded):
		p.Ignore() // the caller gave up
	case c.isFailure(err):
		p.Failure()
	default:
		p.Done(nil) // an answer about the request, not a failure of the server
	}
}

// UnaryInterceptor returns the interceptor for unary calls: retries, the
// breaker and the attempt timeout, in that order from the outside. Used
// without [Client.DialOptions], give the connection grpc.WithDisableRetry()
// too, or grpc-go's own retry policy multiplies the attempts.
func (c *Client) UnaryInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		var br *breaker.Breaker
		if c.breakers != nil {
			var err error
			if br, err = c.breakers.Get(c.breakerKey(cc.Target(), method)); err != nil {
				return Error(err)
			}
		}
		if c.retry == nil {
			return c.pushback(c.unaryAttempt(ctx, br, method, req, reply, cc, invoker, opts), nil)
		}
		call := &unaryCall{c: c, br: br, method: method, req: req, reply: reply, cc: cc, invoker: invoker, opts: opts}
		_, err := c.retry.Execute(ctx, call)
		return err
	}
}

type unaryCall struct {
	c       *Client
	br      *breaker.Breaker
	method  string
	req     any
	reply   any
	cc      *grpc.ClientConn
	invoker grpc.UnaryInvoker
	opts    []grpc.CallOption
}

func (u *unaryCall) Call(ctx context.Context) (any, error) {
	var trailer metadata.MD // for a server's grpc-retry-pushback-ms
	opts := append(u.opts[:len(u.opts):len(u.opts)], grpc.Trailer(&trailer))
	err := u.c.unaryAttempt(ctx, u.br, u.method, u.req, u.reply, u.cc, u.invoker, opts)
	return nil, u.c.pushback(err, trailer)
}

func (c *Client) unaryAttempt(ctx context.Context, br *breaker.Breaker, method string, req, reply any,
	cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts []grpc.CallOption) error {
	var p breaker.Permit
	if br != nil {
		var err error
		if p, err = br.Allow(); err != nil {
			return Error(err)
		}
	}
	actx := ctx
	var cancel context.CancelFunc
	if c.attemptTimeout > 0 {
		actx, cancel = context.WithTimeoutCause(ctx, c.attemptTimeout, errAttemptTimeout)
	}
	err := invoker(actx, method, req, reply, cc, opts...)
	if cancel != nil {
		if err != nil && ctx.Err() == nil && c.attemptTimedOut(actx, err) {
			err = &attemptTimeoutError{err: err, d: c.attemptTimeout}
		}
		cancel()
	}
	if br != nil {
		c.record(ctx, p, err)
	}
	return err
}

// pushback wraps err when the server asked for a delay, in a RetryInfo
// detail or (failing that) the grpc-retry-pushback-ms trailer, so that the
// retry policy waits that long; a delay beyond MaxPushback makes the error
// final instead (the retry policy returns it unwrapped): the server asked
// for longer than we may wait. A pushback trailer that is negative or not
// a number asks for no retry at all (gRFC A6), and gets none.
func (c *Client) pushback(err error, trailer metadata.MD) error {
	if err == nil {
		return nil
	}
	if _, ok := RetryDelay(err); !ok {
		if v := trailer.Get(PushbackTrailer); len(v) == 1 {
			ms, perr := strconv.ParseInt(v[0], 10, 64)
			switch {
			case perr != nil || ms < 0:
				return retry.Permanent(err)
			case ms > 0:
				err = &pushback{err: err, delay: time.Duration(min(ms, int64(ratelimit.Never/time.Millisecond))) * time.Millisecond}
			}
		}
	}
	err = withPushback(err)
	if pb, ok := err.(*pushback); ok && c.retry != nil && pb.delay > c.maxPushback {
		return retry.Permanent(pb.err)
	}
	return err
}

// attemptTimedOut reports whether err ended an attempt because of
// AttemptTimeout: only when the attempt's own deadline passed. The server
// gets that deadline with the call and may see it pass a moment before the
// client does (the time the request took to arrive): a DeadlineExceeded
// that comes back when at most deadlineSlack of the attempt remains is
// followed by a wait for the deadline, and counts if it passes. A
// DeadlineExceeded the server sends earlier is its own answer (its database
// timed out, its own Timeout ran out): not retried, not a timeout here.
func (c *Client) attemptTimedOut(actx context.Context, err error) bool {
	if context.Cause(actx) == errAttemptTimeout {
		return true
	}
	if Code(err) != codes.DeadlineExceeded {
		return false
	}
	adl, _ := actx.Deadline()
	if time.Until(adl) > deadlineSlack(c.attemptTimeout) {
		return false
	}
	<-actx.Done() // at most deadlineSlack away, or the caller's deadline sooner
	return context.Cause(actx) == errAttemptTimeout
}

// deadlineSlack is how much of an attempt may remain when the server
// reports the deadline passed for the attempt to count as timed out: a
// tenth of AttemptTimeout, at most 100 ms.
func deadlineSlack(d time.Duration) time.Duration {
	return min(d/10, 100*time.Millisecond)
}

// attemptTimeoutError is an attempt that ran out of AttemptTimeout: a
// *timeout.ExceededError for errors.As, errAttemptTimeout for the retry
// policy, and the call's DeadlineExceeded status for gRPC.
type attemptTimeoutError struct {
	err error
	d   time.Duration
}

func (e *attemptTimeoutError) Error() string { return e.err.Error() }
func (e *attemptTimeoutError) Unwrap() []error {
	return []error{e.err, errAttemptTimeout, &timeout.ExceededError{Duration: e.d}}
}

var _ bulwark.Operation = (*unaryCall)(nil)
