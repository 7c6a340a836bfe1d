package bulwarkgrpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/adaptive"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/recovery"
	"github.com/bulwark-go/bulwark/timeout"
)

// DefaultPriorityKey is the metadata key PriorityMetadata reads when given
// no key.
const DefaultPriorityKey = "x-priority"

// DefaultBulkheadRetryAfter is the delay a refusal of the server's
// Bulkhead asks for when ServerConfig.BulkheadRetryAfter is zero.
const DefaultBulkheadRetryAfter = 100 * time.Millisecond

// PushbackTrailer is the trailer in which a server's refusal says, in
// milliseconds, when to come back: grpc-go's own retry policy (and other
// gRPC libraries following gRFC A6) read it, where the client interceptors
// of this package read the google.rpc.RetryInfo detail. A bulwark server
// sends both.
const PushbackTrailer = "grpc-retry-pushback-ms"

// ServerConfig configures a [Server]. Every policy is optional; panics are
// always recovered.
type ServerConfig struct {
	// Reporter receives recovered panics, which the client gets as
	// Internal ("internal error"). Default: nil, recovery's default
	// Reporter.
	Reporter *recovery.Reporter

	// RateLimit limits all calls together; RateLimitByKey each client
	// separately, clients told apart by ClientKey. A refused call gets
	// ResourceExhausted with its delay (RetryInfo and PushbackTrailer).
	// Default: nil, no limit.
	RateLimit      *ratelimit.Limiter
	RateLimitByKey *ratelimit.Keyed
	// ClientKey names the client of a call for RateLimitByKey. Default:
	// nil, [PeerIP] (the IP address of the connection's peer).
	ClientKey func(ctx context.Context, method string) string

	// Bulkhead limits the calls served at once to a fixed number, Adaptive
	// to a number that follows latency, shedding low priorities first (at
	// most one of the two). A refused call gets Unavailable with a delay
	// (RetryInfo and PushbackTrailer). A stream holds its place until it ends. Default: nil.
	Bulkhead *bulkhead.Bulkhead
	Adaptive *adaptive.Limiter
	// BulkheadRetryAfter is the delay a call refused by Bulkhead is asked
	// to wait before it comes back (a full bulkhead knows no better time;
	// Adaptive and the rate limits compute theirs). It must not be
	// negative. Default: 0, DefaultBulkheadRetryAfter (100 ms).
	BulkheadRetryAfter time.Duration
	// Priority gives a call's priority for Adaptive. Default: nil,
	// PriorityMetadata(DefaultPriorityKey).
	Priority func(ctx context.Context, method string) adaptive.Priority

	// Timeout bounds each handler: its context ends after Timeout (or at
	// the client's deadline, which gRPC propagates, if sooner), and an error
	// it returns after that becomes DeadlineExceeded. Default: 0, no bound.
	Timeout time.Duration
	// TimeoutDetached makes Timeout answer a unary call DeadlineExceeded
	// when its deadline passes even if the handler ignores its context:
	// the handler runs on a goroutine of its own, its late result is
	// dropped, and a panic in it is recovered and reported as any other
	// (see timeout.Config.Detached). The default (false) waits for the
	// handler to return, which costs less and is right for every handler
	// that honours ctx; a success it returns late is then sent. Streams
	// always wait: their handler uses the stream, which gRPC closes when
	// the call ends. The concurrency limit's place is given back when the
	// call is answered, while the handler may still run (the timeout
	// counts these orphans). Default: false.
	TimeoutDetached bool
}

// Server holds the server-side policies and gives them to a grpc.Server as
// interceptors, in this order from the outside: panic recovery, rate
// limits, the concurrency limit, the timeout. A handler's error that is one
// of bulwark's (an open breaker of a dependency, a full bulkhead, ...) is
// turned into a status as [Code] says.
//
// A Server is safe for concurrent use.
type Server struct {
	rep       *recovery.Reporter
	limiter   *ratelimit.Limiter
	keyed     *ratelimit.Keyed
	clientKey func(context.Context, string) string
	bulkhead  *bulkhead.Bulkhead
	adaptive  *adaptive.Limiter
	priority  func(context.Context, string) adaptive.Priority
	busyDelay time.Duration
	timeout   *timeout.Timeout
	detached  *timeout.Timeout // unary calls with TimeoutDetached; nil otherwise
}

// NewServer returns a Server configured by c, or an error naming the first
// invalid field.
func NewServer(c ServerConfig) (*Server, error) {
	switch {
	case c.Bulkhead != nil && c.Adaptive != nil:
		return nil, errors.New("bulwarkgrpc: ServerConfig: set at most one of Bulkhead and Adaptive")
	case c.Timeout < 0:
		return nil, fmt.Errorf("bulwarkgrpc: ServerConfig.Timeout must not be negative (got %v)", c.Timeout)
	case c.TimeoutDetached && c.Timeout == 0:
		return nil, errors.New("bulwarkgrpc: ServerConfig.TimeoutDetached is set but Timeout is 0")
	case c.BulkheadRetryAfter < 0:
		return nil, fmt.Errorf("bulwarkgrpc: ServerConfig.BulkheadRetryAfter must not be negative (got %v)", c.BulkheadRetryAfter)
	case c.BulkheadRetryAfter != 0 && c.Bulkhead == nil:
		return nil, errors.New("bulwarkgrpc: ServerConfig.BulkheadRetryAfter is set but Bulkhead is nil")
	case c.ClientKey != nil && c.RateLimitByKey == nil:
		return nil, errors.New("bulwarkgrpc: ServerConfig.ClientKey is set but RateLimitByKey is nil")
	case c.Priority != nil && c.Adaptive == nil:
		return nil, errors.New("bulwarkgrpc: ServerConfig.Priority is set but Adaptive is nil")
	}
	s := &Server{
		rep: c.Reporter, limiter: c.RateLimit, keyed: c.RateLimitByKey, clientKey: c.ClientKey,
		bulkhead: c.Bulkhead, adaptive: c.Adaptive, priority: c.Priority,
		busyDelay: c.BulkheadRetryAfter,
	}
	if s.busyDelay == 0 {
		s.busyDelay = DefaultBulkheadRetryAfter
	}
	if s.rep == nil {
		s.rep = recovery.Default()
	}
	if s.clientKey == nil {
		s.clientKey = PeerIP
	}
	if s.priority == nil {
		s.priority = PriorityMetadata(DefaultPriorityKey)
	}
	if c.Timeout > 0 {
		t, err := timeout.New(timeout.Config{Name: "grpc", Duration: c.Timeout})
		if err != nil {
			return nil, err
		}
		s.timeout = t
		if c.TimeoutDetached {
			if s.detached, err = timeout.New(timeout.Config{Name: "grpc", Duration: c.Timeout, Detached: true}); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// ServerOptions returns the unary and stream interceptors as server
// options.
func (s *Server) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(s.UnaryInterceptor()),
		grpc.ChainStreamInterceptor(s.StreamInterceptor()),
	}
}

// PeerIP is a ServerConfig.ClientKey giving the IP address of the
// connection's peer (the whole address if it has no port), or "" when
// unknown. Behind a proxy, write your own from metadata you trust.
func PeerIP(ctx context.Context, _ string) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	a := p.Addr.String()
	if host, _, err := net.SplitHostPort(a); err == nil {
		return host
	}
	return a
}

// PriorityMetadata returns a function reading a call's priority from the
// incoming metadata key: "critical" and "high" are PriorityCritical, "low"
// is PriorityLow, anything else (or nothing) PriorityNormal. As with any
// metadata, a client can send what it likes: trust it only from your own
// callers.
func PriorityMetadata(key string) func(context.Context, string) adaptive.Priority {
	if key == "" {
		key = DefaultPriorityKey
	}
	key = strings.ToLower(key)
	return func(ctx context.Context, _ string) adaptive.Priority {
		v := metadata.ValueFromIncomingContext(ctx, key)
		if len(v) == 0 {
			return adaptive.PriorityNormal
		}
		switch s := strings.TrimSpace(v[0]); {
		case strings.EqualFold(s, "critical"), strings.EqualFold(s, "high"):
			return adaptive.PriorityCritical
		case strings.EqualFold(s, "low"):
			return adaptive.PriorityLow
		}
		return adaptive.PriorityNormal
	}
}

// admit runs the rate limits and the concurrency limit for a call. On
// success it returns the function that reports the call's end.
func (s *Server) admit(ctx context.Context, method string) (func(err error, panicked bool), error) {
	if s.limiter != nil {
		if d := s.limiter.Check(); !d.Allowed {
			return nil, Error(&ratelimit.LimitedError{Delay: d.RetryAfter})
		}
	}
	if s.keyed != nil {
		if d := s.keyed.CheckKey(s.clientKey(ctx, method)); !d.Allowed {
			return nil, Error(&ratelimit.LimitedError{Delay: d.RetryAfter})
		}
	}
	switch {
	case s.bulkhead != nil:
		if err := s.bulkhead.Acquire(ctx); err != nil {
			if errors.Is(err, bulkhead.ErrFull) {
				err = &busyError{err: err, delay: s.busyDelay}
			}
			return nil, Error(err)
		}
		return func(error, bool) { s.bulkhead.Release() }, nil
	case s.adaptive != nil:
		tok, err := s.adaptive.AcquirePriority(ctx, s.priority(ctx, method))
		if err != nil {
			return nil, Error(err)
		}
		return func(err error, panicked bool) {
			switch Code(err) {
			case codes.OK:
				tok.OnSuccess()
			case codes.Unavailable, codes.DeadlineExceeded:
				if ctx.Err() != nil && Code(err) == codes.DeadlineExceeded && !errors.Is(err, timeout.ErrTimeout) {
					tok.OnIgnore() // the client's own deadline
					return
				}
				tok.OnDropped()
			case codes.Canceled:
				tok.OnIgnore()
			default:
				if panicked {
					tok.OnIgnore()
					return
				}
				tok.OnSuccess() // an answer, given in the usual time
			}
		}, nil
	}
	return nil, nil
}

// UnaryInterceptor returns the interceptor for unary calls.
func (s *Server) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		done, err := s.admit(ctx, info.FullMethod)
		if err != nil {
			return nil, s.refuse(err, func(md metadata.MD) { grpc.SetTrailer(ctx, md) })
		}
		var resp any
		if s.detached != nil {
			err = s.detachedCall(ctx, req, handler, &resp)
		} else {
			err = s.rep.Do(func() error {
				var herr error
				if s.timeout != nil {
					resp, herr = s.timeout.Execute(ctx, bulwark.OperationFunc(func(ctx context.Context) (any, error) {
						return handler(ctx, req)
					}))
				} else {
					resp, herr = handler(ctx, req)
				}
				return herr
			})
		}
		if done != nil {
			done(err, errors.Is(err, recovery.ErrPanic))
		}
		return resp, s.refuse(Error(err), func(md metadata.MD) { grpc.SetTrailer(ctx, md) })
	}
}

// StreamInterceptor returns the interceptor for streaming calls. The
// handler's stream reports the timeout's context, if any.
func (s *Server) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		done, err := s.admit(ctx, info.FullMethod)
		if err != nil {
			return s.refuse(err, ss.SetTrailer)
		}
		err = s.rep.Do(func() error {
			if s.timeout != nil {
				_, herr := s.timeout.Execute(ctx, bulwark.OperationFunc(func(ctx context.Context) (any, error) {
					return nil, handler(srv, &serverStream{ServerStream: ss, ctx: ctx})
				}))
				return herr
			}
			return handler(srv, ss)
		})
		if done != nil {
			done(err, errors.Is(err, recovery.ErrPanic))
		}
		return s.refuse(Error(err), ss.SetTrailer)
	}
}

// serverStream gives a handler the timeout's context.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }

// refuse returns err, a status error, after setting the PushbackTrailer
// when its status carries a RetryInfo delay: the two say the same thing to
// two kinds of client.
func (s *Server) refuse(err error, setTrailer func(metadata.MD)) error {
	if d, ok := RetryDelay(err); ok && d > 0 {
		ms := (d + time.Millisecond - 1) / time.Millisecond // rounded up: never sooner than asked
		setTrailer(metadata.Pairs(PushbackTrailer, strconv.FormatInt(int64(ms), 10)))
	}
	return err
}

// busyError is a refusal of the server's bulkhead with the delay to ask
// for, which the bulkhead does not know.
type busyError struct {
	err   error
	delay time.Duration
}

func (e *busyError) Error() string             { return e.err.Error() }
func (e *busyError) Unwrap() error             { return e.err }
func (e *busyError) RetryAfter() time.Duration { return e.delay }

// detachedCall runs a unary handler under the detached timeout, recovering
// its panics on its own goroutine, where a panic after the call was given
// up would otherwise end the program.
func (s *Server) detachedCall(ctx context.Context, req any, handler grpc.UnaryHandler, resp *any) error {
	v, err := s.detached.Execute(ctx, bulwark.OperationFunc(func(ctx context.Context) (any, error) {
		var r any
		err := s.rep.Do(func() error {
			var herr error
			r, herr = handler(ctx, req)
			return herr
		})
		return r, err
	}))
	*resp = v
	return err
}
