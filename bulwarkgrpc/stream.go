package bulwarkgrpc

import (
	"context"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/retry"
)

// StreamInterceptor returns the interceptor for streaming calls. Used
// without [Client.DialOptions], give the connection grpc.WithDisableRetry()
// too (see DialOptions).
//
// A stream is retried only until it is committed: until its first response
// message arrives (or it ends cleanly without one). Up to then, the request
// messages sent are kept (up to MaxReplayBytes) and, when the stream fails
// with a code worth retrying, a new stream is opened after the backoff, the
// messages are sent again (and CloseSend repeated), and the call carries on
// as if nothing happened: the caller sees one stream. A SendMsg on a stream
// that failed meanwhile returns nil and keeps the message for the next
// attempt; the failure shows at the next RecvMsg or Header. Once a response
// message has arrived, the caller may have acted on it, so nothing is
// retried: later failures reach the caller as they are.
//
// The breaker judges the opening of a stream: a permit is taken per
// attempt and its outcome is reported when the stream commits (a success),
// or when it fails before that. A long-lived stream does not hold a
// half-open probe for its whole life.
func (c *Client) StreamInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
		streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if c.retry == nil && c.breakers == nil {
			return streamer(ctx, desc, cc, method, opts...)
		}
		s := &clientStream{c: c, ctx: ctx, desc: desc, cc: cc, method: method, streamer: streamer, opts: opts}
		if c.breakers != nil {
			br, err := c.breakers.Get(c.breakerKey(cc.Target(), method))
			if err != nil {
				return nil, Error(err)
			}
			s.br = br
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := s.open(); err != nil {
			if err = s.recoverLocked(s.gen, err); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
}

// clientStream is a stream that reopens itself until it commits.
//
// SendMsg and RecvMsg may run at the same time on two goroutines, so the
// state is guarded by mu, but no lock is held across a blocking call on the
// current attempt: a failure is noticed by whichever side meets it first,
// which replaces the attempt (under mu, so the other side waits and then
// carries on with the new attempt).
type clientStream struct {
	c        *Client
	ctx      context.Context
	desc     *grpc.StreamDesc
	cc       *grpc.ClientConn
	method   string
	streamer grpc.Streamer
	opts     []grpc.CallOption
	br       *breaker.Breaker

	mu         sync.Mutex
	cur        grpc.ClientStream // a *deadStream when the last attempt could not be opened
	gen        int               // bumped each time cur is replaced
	attempts   int
	permit     breaker.Permit // the current attempt's, until reported
	pending    bool           // permit not yet reported
	committed  bool           // no more retries
	sent       []any
	sentBytes  int
	closedSend bool
}

// open starts a new attempt and replays what was sent; mu held.
func (s *clientStream) open() error {
	s.attempts++
	s.gen++
	if s.br != nil {
		p, err := s.br.Allow()
		if err != nil {
			err = Error(err)
			s.cur = &deadStream{ctx: s.ctx, err: err}
			return err
		}
		s.permit, s.pending = p, true
	}
	cs, err := s.streamer(s.ctx, s.desc, s.cc, s.method, s.opts...)
	if err != nil {
		s.report(err)
		s.cur = &deadStream{ctx: s.ctx, err: err}
		return s.c.pushback(err, nil)
	}
	s.cur = cs
	for _, m := range s.sent {
		if err := cs.SendMsg(m); err != nil {
			return nil // the attempt failed already: its status shows at the next RecvMsg
		}
	}
	if s.closedSend {
		_ = cs.CloseSend()
	}
	return nil
}

// report gives the current attempt's outcome to its permit, once; mu held.
func (s *clientStream) report(err error) {
	if !s.pending {
		return
	}
	s.pending = false
	s.c.record(s.ctx, s.permit, err)
}

// commit stops retrying; mu held.
func (s *clientStream) commit(err error) {
	s.committed = true
	s.sent, s.sentBytes = nil, 0
	s.report(err)
}

// recoverLocked handles the failure err of attempt gen: unless retries are
// over, it waits as the retry policy says and opens new attempts until one
// opens. It returns nil when the caller should go on with the new attempt,
// or the error to give up with. mu held; it is held during the wait too, so
// that the other side of the stream waits for the new attempt.
func (s *clientStream) recoverLocked(gen int, err error) error {
	if gen != s.gen {
		return nil // the other side replaced the attempt already
	}
	s.report(err)
	if s.committed || s.c.retry == nil {
		s.commit(err)
		return err
	}
	if s.c.maxAttempts > 0 && s.attempts >= s.c.maxAttempts {
		if s.c.shouldRetry(err) && !bulwark.CallerDone(s.ctx, err) && s.ctx.Err() == nil {
			err = s.exhausted(err)
		}
		s.commit(err)
		return err
	}
	first := true
	_, rerr := s.c.retry.Execute(s.ctx, bulwark.OperationFunc(func(context.Context) (any, error) {
		if first {
			first = false
			return nil, s.c.pushback(err, nil)
		}
		if s.c.maxAttempts > 0 && s.attempts >= s.c.maxAttempts {
			return nil, retry.Permanent(s.exhausted(err))
		}
		if oerr := s.open(); oerr != nil {
			err = oerr
			return nil, oerr
		}
		return nil, nil
	}))
	if rerr != nil {
		s.commit(rerr)
		return rerr
	}
	return nil
}

// exhausted is the error of a stream whose attempts ran out: the retry
// policy counts attempts per failure, so the stream counts them itself.
func (s *clientStream) exhausted(last error) error {
	return &retry.ExhaustedError{Attempts: s.attempts, Reason: retry.ReasonMaxAttempts, Last: last}
}

// current returns the attempt to use and its generation.
func (s *clientStream) current() (grpc.ClientStream, int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur, s.gen, s.committed
}

func (s *clientStream) SendMsg(m any) error {
	s.mu.Lock()
	if s.committed {
		cur := s.cur
		s.mu.Unlock()
		return cur.SendMsg(m)
	}
	if pm, ok := m.(proto.Message); ok && s.sentBytes+proto.Size(pm) <= s.c.maxReplay {
		s.sent = append(s.sent, m)
		s.sentBytes += proto.Size(pm)
	} else {
		// Too much to keep: this stream can no longer be replayed.
		s.committed = true
		s.sent, s.sentBytes = nil, 0
		cur := s.cur
		s.mu.Unlock()
		return cur.SendMsg(m)
	}
	cur := s.cur
	s.mu.Unlock()
	if err := cur.SendMsg(m); err != nil && err != io.EOF {
		return err
	}
	// io.EOF: the attempt failed; the message is kept for the next one,
	// and RecvMsg will find out whether there is a next one.
	return nil
}

func (s *clientStream) CloseSend() error {
	s.mu.Lock()
	s.closedSend = true
	cur := s.cur
	s.mu.Unlock()
	return cur.CloseSend()
}

func (s *clientStream) RecvMsg(m any) error {
	for {
		cur, gen, committed := s.current()
		err := cur.RecvMsg(m)
		if committed {
			return err
		}
		s.mu.Lock()
		if gen != s.gen { // replaced while we waited: use the new attempt
			s.mu.Unlock()
			continue
		}
		if err == nil || err == io.EOF {
			s.commit(nil)
			s.mu.Unlock()
			return err
		}
		rerr := s.recoverLocked(gen, err)
		s.mu.Unlock()
		if rerr != nil {
			return rerr
		}
	}
}

func (s *clientStream) Header() (metadata.MD, error) {
	for {
		cur, gen, committed := s.current()
		md, err := cur.Header()
		if err == nil || committed {
			return md, err
		}
		s.mu.Lock()
		rerr := s.recoverLocked(gen, err)
		s.mu.Unlock()
		if rerr != nil {
			return nil, rerr
		}
	}
}

func (s *clientStream) Trailer() metadata.MD {
	cur, _, _ := s.current()
	return cur.Trailer()
}

func (s *clientStream) Context() context.Context {
	cur, _, _ := s.current()
	return cur.Context()
}

// deadStream stands for an attempt that could not be opened.
type deadStream struct {
	ctx context.Context
	err error
}

func (d *deadStream) Header() (metadata.MD, error) { return nil, d.err }
func (d *deadStream) Trailer() metadata.MD         { return nil }
func (d *deadStream) CloseSend() error             { return nil }
func (d *deadStream) Context() context.Context     { return d.ctx }
func (d *deadStream) SendMsg(any) error            { return io.EOF }
func (d *deadStream) RecvMsg(any) error            { return d.err }
