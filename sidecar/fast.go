package sidecar

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/bulwarkhttp"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/sidecar/internal/h1"
	"github.com/bulwark-go/bulwark/sidecar/internal/rawsock"
	"github.com/bulwark-go/bulwark/sidecar/internal/wire"
	"github.com/bulwark-go/bulwark/timeout"
)

// The fast path (config key fast_path) serves the proxy's listener with an
// HTTP/1.1 engine of its own: a goroutine per client connection reads each
// request head, and when the request is one it can serve (wire.ParseRequest:
// HTTP/1.1, no body, a clean path, plain headers) on a route whose policies
// it applies (all but a per-client or Redis rate limit), it runs the route's
// policies and forwards the bytes to the upstream over the sidecar's own
// connection pool, on that goroutine, without building net/http's Request
// and Response. Anything else hands the connection, with the bytes read
// from it, to net/http's server and the proxy's Handler, for as long as the
// connection lasts.

// maxFastHead is the longest request head the fast path reads; a longer
// one goes to net/http (its limit: 1 MiB).
const maxFastHead = 64 << 10

// fastServer is the fast path of one Serve.
type fastServer struct {
	s       *Server
	up      *h1.Transport
	handoff *handoffListener

	// ctx is the parent of every request's context; it ends when
	// shutdown ends the requests in flight (done is its Done).
	ctx  context.Context
	done <-chan struct{}
	stop context.CancelFunc

	// Each connection's goroutine marks it idle or not and then reads
	// shutting; shutdown sets shutting and then closes the idle ones: one
	// of the two sees the other (sequentially consistent atomics), and no
	// request takes a lock shared with the others.
	shutting atomic.Bool
	mu       sync.Mutex
	conns    map[*fastConn]struct{}
	wg       sync.WaitGroup
	quit     chan struct{} // closed by shutdown: stops the watchdog
}

func newFastServer(s *Server, up *h1.Transport, addr net.Addr) *fastServer {
	ctx, stop := context.WithCancel(context.Background())
	return &fastServer{s: s, up: up, handoff: newHandoffListener(addr), conns: map[*fastConn]struct{}{}, ctx: ctx, done: ctx.Done(),
		stop: stop, quit: make(chan struct{})}
}

// serve accepts connections on ln until it is closed.
func (f *fastServer) serve(ln net.Listener) error {
	f.startWatchdog()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			// As net/http's server: a temporary error (EMFILE, ENFILE,
			// ECONNABORTED) is waited out, 5 ms doubling up to 1 s.
			if ne, ok := err.(interface{ Temporary() bool }); ok && ne.Temporary() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := newFastConn(f, nc)
		f.mu.Lock()
		if f.shutting.Load() {
			f.mu.Unlock()
			nc.Close()
			continue
		}
		f.conns[c] = struct{}{}
		f.wg.Add(1)
		f.mu.Unlock()
		go c.serve()
	}
}

// startWatchdog starts the watchdog unless shutdown has started: as a
// connection's, its wg.Add must come before shutdown's wg.Wait.
func (f *fastServer) startWatchdog() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.shutting.Load() {
		f.wg.Add(1)
		go f.watchdog()
	}
}

// shutdown closes the connections between requests and waits, until ctx
// ends, for the others to finish their request; the listener must be
// closed first. The hand-off listener is net/http's server's: its Shutdown
// closes it (closed here first, that server's Serve would fail with
// net.ErrClosed rather than end with http.ErrServerClosed). On ctx's end
// it ends the requests in flight (they are answered 503 shutdown when
// nothing was sent yet) and waits up to drainGrace for them.
func (f *fastServer) shutdown(ctx context.Context) error {
	f.mu.Lock()
	f.shutting.Store(true)
	for c := range f.conns {
		if c.idle.Load() {
			c.nc.Close()
		}
	}
	f.mu.Unlock()
	close(f.quit)
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	f.stop()
	f.mu.Lock()
	for c := range f.conns {
		c.abort()
	}
	f.mu.Unlock()
	select {
	case <-done:
	case <-time.After(drainGrace):
		f.mu.Lock()
		for c := range f.conns {
			c.nc.Close()
		}
		f.mu.Unlock()
		<-done
	}
	return ctx.Err()
}

// active marks c as serving a request, or reports false when the server
// is shutting down.
func (f *fastServer) active(c *fastConn) bool {
	c.idle.Store(false)
	return !f.shutting.Load()
}

// idle marks c as between requests, or reports false when the server is
// shutting down.
func (f *fastServer) idle(c *fastConn) bool {
	c.idle.Store(true)
	return !f.shutting.Load()
}

func (f *fastServer) forget(c *fastConn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	f.wg.Done()
}

// fastConn is one client connection of the fast path.
type fastConn struct {
	f      *fastServer
	nc     net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	remote string // nc.RemoteAddr().String()
	peer   string // its IP
	head   []byte // the request head
	req    wire.Request
	call   fastCall
	rdl    time.Time // the read deadline set on nc
	wdl    time.Time // the write deadline set on nc, zero for none

	sock clientSock      // under br and bw
	rc   syscall.RawConn // nc's, for serve's read wait and the watch's peek
	fn   func(fd uintptr) bool
	wait time.Duration // how long the next request may take to come
	next step          // what serve does when the read wait returns
	part bool          // a partial head is buffered, its deadline set
	done time.Time     // when the last request was answered
	idle atomic.Bool   // between requests (see fastServer.shutting)

	mu      sync.Mutex
	up      net.Conn // the upstream connection of the attempt in flight
	aborted bool
	// The request in flight, for the client watch (watch.go): when it
	// started (zero between requests), its context.
	started time.Time
	ctx     *requestCtx
	gone    bool // the watch found the client gone
}

func newFastConn(f *fastServer, nc net.Conn) *fastConn {
	c := &fastConn{f: f, nc: nc}
	c.sock = clientSock{nc: nc, fd: -1}
	c.br = bufio.NewReaderSize(&c.sock, 4<<10)
	c.bw = bufio.NewWriterSize(&c.sock, 4<<10)
	// The socket is read under nc only when nc is the socket itself
	// (rawsock.Of): a listener's wrapper may read its own way.
	if c.rc = rawsock.Of(nc); c.rc != nil {
		c.fn = c.step // made once: a method value per wait would allocate
	}
	c.idle.Store(true) // waiting for its first request
	c.remote = nc.RemoteAddr().String()
	c.peer = c.remote
	if h, _, err := net.SplitHostPort(c.remote); err == nil {
		c.peer = h
	}
	c.call.c = c
	return c
}

// abort ends the attempt in flight, if any, and the ones after it.
func (c *fastConn) abort() {
	c.mu.Lock()
	c.aborted = true
	c.cut()
	c.mu.Unlock()
}

// cut ends the upstream exchange in flight, if any; c.mu held.
func (c *fastConn) cut() {
	if c.up != nil {
		c.up.SetDeadline(aLongTimeAgo)
	}
}

var aLongTimeAgo = time.Unix(1, 0)

// attach records up as the connection of the attempt in flight (nil: none)
// and reports false when the server has ended the requests in flight or
// the client watch found the client gone (up came too late to be cut).
func (c *fastConn) attach(up net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.up = up
	return !c.aborted && !c.gone
}

// keepCut sets a past deadline on up again if abort or the client watch
// cut it while its deadline was being moved.
func (c *fastConn) keepCut(up net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aborted || c.gone {
		up.SetDeadline(aLongTimeAgo)
	}
}

// detach forgets the attempt's upstream connection and reports whether
// abort or the client watch cut it (set a deadline in the past on its
// socket, which Conn.SetDeadline's dirty flag does not know of): it must
// not go back to the pool then.
func (c *fastConn) detach() (cut bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.up = nil
	return c.aborted || c.gone
}

// serve serves the connection's requests. It runs inside the poller's
// read wait of the connection (syscall.RawConn.Read, see step): a request
// is read, proxied and answered there, and the wait for the next one
// starts without first trying a read that could only find nothing (the
// client sends its next request once it has the answer), one system call
// fewer per request than net.Conn's Read. A head larger than the buffer,
// or one after empty lines, is read by blocking reads instead (slow).
func (c *fastConn) serve() {
	handed := false
	defer func() {
		if !handed {
			c.nc.Close()
		}
		c.f.forget(c)
	}()
	if c.rc == nil { // not a bare socket: net/http's
		handed = c.handOff()
		return
	}
	c.wait = c.f.s.readHeaderTimeout // as net/http: a new connection's first request must come as fast as its head
	for {
		c.next = stepDone
		if err := c.rc.Read(c.fn); err != nil {
			return // its deadline, or the connection closed
		}
		switch c.next {
		case stepHandOff:
			handed = c.handOff()
			return
		case stepSlow:
			switch c.slow() {
			case stepHandOff:
				handed = c.handOff()
				return
			case stepDone:
				return
			}
		default:
			return
		}
	}
}

// step is what serve's read wait does: it serves every request whose head
// is buffered, reading the socket (fd) when more bytes are needed; it
// returns false to wait for them, true (c.next set) to leave the wait.
func (c *fastConn) step(fd uintptr) bool {
	c.sock.fd = int(fd)
	// The wait just took (or its start reset) the socket's readiness:
	// bytes that came before are not announced again until a read finds
	// the socket empty.
	c.sock.more = true
	defer func() { c.sock.fd = -1 }()
	for {
		if c.br.Buffered() == 0 {
			switch c.fill() {
			case errAgain:
				c.readDeadline(time.Now().Add(c.wait))
				return false
			case nil:
			default:
				return true
			}
		}
		c.wait = c.f.s.idleTimeout
		if !c.f.active(c) {
			return true
		}
		if b, _ := c.br.Peek(c.br.Buffered()); !headBuffered(b) {
			if len(b) == c.br.Size() || b[0] == '\r' || b[0] == '\n' {
				c.next = stepSlow
				return true
			}
			if !c.part {
				c.part = true
				c.rdl = time.Now().Add(c.f.s.readHeaderTimeout)
				c.nc.SetReadDeadline(c.rdl)
			}
			switch c.fill() {
			case errAgain:
				return false
			case nil:
				continue
			default:
				return true
			}
		}
		c.part = false
		var err error
		c.head, err = wire.ReadHead(c.br, c.head[:0], maxFastHead) // buffered: no read
		if !c.serveHead(err) {
			return true
		}
		if c.br.Buffered() == 0 && !c.sock.more {
			// Wait before reading: the next request comes after the
			// answer, and one pipelined during this request left the
			// socket readable for the wait (no poller reset within it).
			// Not when no read in this wait found the socket empty: a
			// read that filled the buffer, or bytes taken by blocking
			// reads before the wait (slow), leave bytes that came
			// before the readiness was taken, which nothing announces.
			c.readDeadline(c.done.Add(c.wait))
			return false
		}
	}
}

// serveHead serves the request whose head wire.ReadHead just read (err
// its error) and reports whether the connection waits for the next one;
// false, with c.next set, when it closes or goes to net/http.
func (c *fastConn) serveHead(err error) bool {
	switch {
	case err == wire.ErrTooLarge:
		c.next = stepHandOff
		return false
	case err != nil:
		c.next = stepDone
		return false
	}
	r := c.route()
	if r == nil {
		c.next = stepHandOff
		return false
	}
	if !c.serveRequest(r) || !c.f.idle(c) {
		c.next = stepDone
		return false
	}
	return true
}

// step is what serve does when its read wait returns.
type step uint8

const (
	stepDone    step = iota // close the connection
	stepHandOff             // give it to net/http
	stepSlow                // read the head with blocking reads
)

// fill reads the socket once, into br.
func (c *fastConn) fill() error {
	_, err := c.br.Peek(c.br.Buffered() + 1)
	return err
}

// slow reads and serves one request whose head step could not take whole
// from the buffer, with blocking reads; it returns what serve does next
// (stepSlow: wait for the next request).
func (c *fastConn) slow() step {
	c.part = false
	c.rdl = time.Now().Add(c.f.s.readHeaderTimeout)
	c.nc.SetReadDeadline(c.rdl)
	var err error
	c.head, err = wire.ReadHead(c.br, c.head[:0], maxFastHead)
	if !c.serveHead(err) {
		return c.next
	}
	// The head's deadline may have passed while the request was served:
	// the next read wait would end on it as it starts, before reading.
	c.readDeadline(c.done.Add(c.wait))
	return stepSlow
}

// clientSock reads and writes the client connection under br and bw:
// inside serve's read wait (fd set) with non-blocking system calls, a read
// returning errAgain when nothing is there; outside it, through nc.
type clientSock struct {
	nc net.Conn
	fd int // -1: outside the wait
	// more: inside the wait, no read since the readiness was taken found
	// the socket empty (EAGAIN, or fewer bytes than asked for): bytes may
	// be waiting that no readiness announces.
	more bool
}

// errAgain is clientSock's error for a read that found nothing.
var errAgain = errors.New("sidecar: nothing to read yet")

func (r *clientSock) Read(p []byte) (int, error) {
	if r.fd < 0 {
		return r.nc.Read(p)
	}
	n, again, err := rawsock.Read(uintptr(r.fd), p)
	r.more = err == nil && n == len(p) && n > 0
	switch {
	case again:
		return 0, errAgain
	case err != nil:
		return 0, os.NewSyscallError("read", err)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes p at once if the socket takes it, and what it does not
// take through nc, which waits for room under the write deadline.
func (r *clientSock) Write(p []byte) (int, error) {
	if r.fd < 0 {
		return r.nc.Write(p)
	}
	n, _, err := rawsock.Write(uintptr(r.fd), p)
	if err != nil {
		return n, os.NewSyscallError("write", err)
	}
	if n < len(p) {
		m, err := r.nc.Write(p[n:])
		return n + m, err
	}
	return n, nil
}

var (
	lfcrlf = []byte("\n\r\n")
	lflf   = []byte("\n\n")
)

// headBuffered reports whether b, the bytes buffered, hold a whole request
// head, as wire.ReadHead ends one (a blank line, CRLF or LF, after a line
// ending in either), with no blank line before it: then reading it needs
// no read.
func headBuffered(b []byte) bool {
	return len(b) > 0 && b[0] != '\r' && b[0] != '\n' && (bytes.Contains(b, lfcrlf) || bytes.Contains(b, lflf))
}

// deadlineSlack is how far a deadline the fast path keeps set on a client
// connection may be earlier than the one it wants: each request would
// otherwise move the socket's timers twice. A write deadline is never
// later than wanted, and at most this much earlier; writeGrace is larger.
const deadlineSlack = 500 * time.Millisecond

// readDeadline sets the read deadline to want, unless the one set is
// within deadlineSlack before it.
func (c *fastConn) readDeadline(want time.Time) {
	if c.rdl.After(want) || c.rdl.Before(want.Add(-deadlineSlack)) {
		c.rdl = want
		c.nc.SetReadDeadline(want)
	}
}

// writeDeadline sets the write deadline to want (zero: none), unless the
// one set is within deadlineSlack before it.
func (c *fastConn) writeDeadline(want time.Time) {
	switch {
	case want.IsZero() && c.wdl.IsZero():
	case want.IsZero() || c.wdl.IsZero() || c.wdl.After(want) || c.wdl.Before(want.Add(-deadlineSlack)):
		c.wdl = want
		c.nc.SetWriteDeadline(want)
	}
}

var colon = []byte(":")

// route returns the route that serves the request just read, or nil when
// the fast path does not serve it. It routes as generation.match does; a
// Host that net.SplitHostPort would not split as "name:port" (a bracketed
// literal, more than one colon) goes to net/http, which then does.
func (c *fastConn) route() *route {
	if !wire.ParseRequest(c.head, &c.req) || wire.EqualFold(c.req.Method, "connect") {
		return nil
	}
	g := c.f.s.gen.Load()
	host := c.req.Host
	switch bytes.Count(host, colon) {
	case 0:
	case 1:
		host = host[:bytes.IndexByte(host, ':')]
	default:
		return nil
	}
	if bytes.IndexByte(host, '[') >= 0 {
		return nil
	}
	if n := len(host); n > 0 && host[n-1] == '.' {
		host = host[:n-1]
	}
	for _, r := range g.byMatch {
		if r.host != "" && !wire.EqualFold(host, r.host) {
			continue
		}
		p := r.cfg.Prefix
		if len(c.req.Path) >= len(p) && string(c.req.Path[:len(p)]) == p {
			if !r.fast {
				return nil
			}
			return r
		}
	}
	return nil
}

// handOff gives the connection, with the bytes read from it, to net/http.
func (c *fastConn) handOff() bool {
	c.nc.SetDeadline(time.Time{})
	buffered, _ := c.br.Peek(c.br.Buffered())
	prefix := make([]byte, 0, len(c.head)+len(buffered))
	prefix = append(append(prefix, c.head...), buffered...)
	return c.f.handoff.deliver(&prefixConn{Conn: c.nc, prefix: prefix})
}

// serveRequest serves the request just read on route r, as route.ServeHTTP
// does on net/http, and reports whether the connection stays open.
func (c *fastConn) serveRequest(r *route) bool {
	start := time.Now()
	st := r.stats
	st.requests.Add(1)
	fc := &c.call
	fc.reset(r)
	if d := r.cfg.RequestTimeout; d > 0 {
		fc.deadline = start.Add(d)
		c.writeDeadline(fc.deadline.Add(writeGrace))
	} else {
		c.writeDeadline(time.Time{})
	}
	ctx := newRequestCtx(c.f.ctx, fc.deadline)
	c.begin(start, ctx)
	o := c.proxy(ctx, r)
	if c.end() {
		o, fc.keep = outcomeClientGone, false
	}
	ctx.cancel()
	if n := fc.n; n > 1 {
		st.retried.Add(1)
	}
	// Counted before the answer's last bytes leave, as on net/http's
	// server: a client that reads the stats once it has its answer finds
	// its request in them.
	st.outcomes[o].Add(1)
	if c.bw.Flush() != nil {
		fc.keep = false
	}
	c.done = time.Now()
	st.latency.observe(c.done.Sub(start))
	return fc.keep
}

// proxy applies the route's rate limit and bulkhead, then sends the request
// under its retries, breaker, attempt timeout and chaos, and answers.
func (c *fastConn) proxy(ctx context.Context, r *route) outcome {
	fc := &c.call
	if r.limiter != nil {
		fc.rate, fc.hasRate = r.limiter.Check(), true
		if !fc.rate.Allowed {
			return c.reject(http.StatusTooManyRequests, outcomeRateLimited, "rate limit exceeded",
				"Retry-After", bulwarkhttp.FormatRetryAfter(fc.rate.RetryAfter))
		}
	}
	if r.bulkhead != nil {
		if err := r.bulkhead.Acquire(ctx); err != nil {
			if errors.Is(err, bulkhead.ErrFull) {
				return c.reject(http.StatusServiceUnavailable, outcomeShed, "too many requests in flight", "Retry-After", "1")
			}
			return c.failed(err) // the wait ended with the request: its deadline, the client gone, shutdown
		}
		defer r.bulkhead.Release()
	}
	var err error
	if r.retry != nil && fc.retryable() {
		_, err = r.retry.Execute(ctx, fc)
	} else {
		_, err = fc.Call(ctx)
		var se *fastStatus
		if errors.As(err, &se) {
			err = nil
		}
	}
	if fc.pending {
		return c.forward()
	}
	return c.failed(err)
}

// failed answers a request no attempt of which brought a response, as
// route.proxyError does.
func (c *fastConn) failed(err error) outcome {
	fc := &c.call
	var open *breaker.OpenError
	switch {
	case errors.Is(err, errClientGone):
		fc.keep = false
		return outcomeClientGone // nobody reads an answer
	case c.f.hardStopped():
		fc.keep = false
		c.rejectReason(http.StatusServiceUnavailable, "shutdown", "the proxy is shutting down", "Retry-After", "1")
		return outcomeClientGone
	case !fc.deadline.IsZero() && !time.Now().Before(fc.deadline):
		return c.reject(http.StatusGatewayTimeout, outcomeTimeout, "request timed out", "", "")
	case errors.As(err, &open):
		return c.reject(http.StatusServiceUnavailable, outcomeBreakerOpen, "circuit breaker open",
			"Retry-After", bulwarkhttp.FormatRetryAfter(open.RetryAfter()))
	case errors.Is(err, timeout.ErrTimeout):
		return c.reject(http.StatusGatewayTimeout, outcomeTimeout, "upstream timed out", "", "")
	default:
		fc.r.log.Warn("upstream unreachable", "err", err)
		return c.reject(http.StatusBadGateway, outcomeBadGateway, "upstream unreachable", "", "")
	}
}

func (f *fastServer) hardStopped() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// reject answers the request itself, with X-Bulwark-Reason set to o and
// one extra header k: v (none when k is ""); rejectReason with reason.
func (c *fastConn) reject(code int, o outcome, msg, k, v string) outcome {
	c.rejectReason(code, o.String(), msg, k, v)
	return o
}

func (c *fastConn) rejectReason(code int, reason, msg, k, v string) {
	fc := &c.call
	w := c.bw
	c.statusLine(code, nil)
	c.commonHeaders()
	if k != "" {
		header(w, k, v)
	}
	header(w, HeaderReason, reason)
	header(w, "Content-Type", "text/plain; charset=utf-8")
	header(w, "X-Content-Type-Options", "nosniff")
	header(w, "Content-Length", strconv.Itoa(len(msg)+1))
	header(w, "Date", httpDate())
	if !fc.keep {
		header(w, "Connection", "close")
	}
	w.WriteString("\r\n")
	if !wire.EqualFold(c.req.Method, "head") {
		w.WriteString(msg)
		w.WriteByte('\n')
	}
	// serveRequest flushes it, once the request is counted.
}

// statusLine writes the status line of code, with reason or net/http's
// text for the code.
func (c *fastConn) statusLine(code int, reason []byte) {
	w := c.bw
	w.WriteString("HTTP/1.1 ")
	writeInt(w, int64(code))
	w.WriteByte(' ')
	if reason != nil {
		w.Write(reason)
	} else {
		w.WriteString(http.StatusText(code))
	}
	w.WriteString("\r\n")
}

// commonHeaders writes the headers of every answer: the rate limit's and
// the attempts'.
func (c *fastConn) commonHeaders() {
	fc := &c.call
	w := c.bw
	if fc.hasRate {
		d := fc.rate
		intHeader(w, "RateLimit-Limit", int64(d.Limit))
		intHeader(w, "RateLimit-Remaining", int64(max(d.Remaining, 0)))
		intHeader(w, "RateLimit-Reset", max(int64(math.Ceil(d.ResetAfter.Seconds())), 0)) // as bulwarkhttp.SetRateLimitHeaders
	}
	if fc.n > 1 {
		intHeader(w, HeaderAttempts, int64(fc.n))
	}
}

// intHeader writes the header k with the decimal value v.
func intHeader(w *bufio.Writer, k string, v int64) {
	w.WriteString(k)
	w.WriteString(": ")
	writeInt(w, v)
	w.WriteString("\r\n")
}

// writeInt writes v in decimal, in the writer's own buffer.
func writeInt(w *bufio.Writer, v int64) {
	if w.Available() < 20 {
		w.Flush() // an error stays in w, for the next Flush
	}
	w.Write(strconv.AppendInt(w.AvailableBuffer(), v, 10))
}

func header(w *bufio.Writer, k, v string) {
	w.WriteString(k)
	w.WriteString(": ")
	w.WriteString(v)
	w.WriteString("\r\n")
}

// forward sends the response of the last attempt to the client.
func (c *fastConn) forward() outcome {
	fc := &c.call
	r := fc.r
	resp := &fc.resp
	if fc.injected != 0 {
		fc.pending = false
		return c.reject(fc.injected, outcomeInjected, "injected fault", "", "")
	}
	o := outcomeOK
	if r.isFailure(resp.Code) {
		o = outcomeUpstreamError
	}
	closes := resp.Close
	// A body that ends when the upstream closes is sent chunked, as
	// net/http's server does: the client can tell its end from a cut.
	rechunk := !resp.NoBody && !resp.Chunked && resp.Length < 0
	w := c.bw
	c.statusLine(resp.Code, resp.Reason)
	c.commonHeaders()
	c.fields(resp.Fields, fc.n > 1, true)
	if rechunk {
		header(w, "Transfer-Encoding", "chunked")
	}
	if !fc.keep {
		header(w, "Connection", "close")
	}
	w.WriteString("\r\n")
	up := fc.up
	br := up.Reader()
	flush := w.Flush
	var err error
	switch {
	case resp.NoBody:
	case resp.Chunked:
		_, err = wire.CopyChunked(w, br, flush)
	case resp.Length >= 0:
		_, err = wire.CopyN(w, br, resp.Length, flush)
	default:
		_, err = wire.CopyToEOF(chunker{w}, br, flush)
		if err == nil {
			_, err = w.WriteString("0\r\n\r\n")
		}
	}
	fc.pending = false // what is left in w: serveRequest flushes it, once the request is counted
	fc.release(err == nil && !closes)
	if err != nil {
		fc.keep = false
	}
	return o
}

// chunker writes each Write as one chunk.
type chunker struct{ w *bufio.Writer }

func (c chunker) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.w.Available() < 20 {
		c.w.Flush()
	}
	c.w.Write(strconv.AppendInt(c.w.AvailableBuffer(), int64(len(p)), 16))
	c.w.WriteString("\r\n")
	c.w.Write(p)
	_, err := c.w.WriteString("\r\n")
	return len(p), err
}

// fields writes the upstream's header fields but the hop-by-hop ones (and
// those its Connection header names), adding Date when it sent none; the
// upstream's X-Bulwark-Attempts is replaced when attempts is set. Date is
// added to a final response only.
func (c *fastConn) fields(fields []wire.Field, attempts, final bool) {
	w := c.bw
	named := connectionNamed(fields)
	date := false
	for _, f := range fields {
		switch {
		case hopByHop(f.Name), named != nil && isNamed(named, f.Name):
			continue
		case attempts && wire.EqualFold(f.Name, "x-bulwark-attempts"):
			continue
		case wire.EqualFold(f.Name, "date"):
			date = true
		}
		w.Write(f.Name)
		w.WriteString(": ")
		w.Write(f.Value)
		w.WriteString("\r\n")
	}
	if !date && final {
		header(w, "Date", httpDate())
	}
}

// hopByHop reports whether a header of this name is not forwarded, either
// way; Transfer-Encoding and Trailer are, with the chunked body they frame.
func hopByHop(name []byte) bool {
	switch len(name) {
	case 2:
		return wire.EqualFold(name, "te")
	case 7:
		return wire.EqualFold(name, "upgrade")
	case 10:
		return wire.EqualFold(name, "connection") || wire.EqualFold(name, "keep-alive")
	case 16:
		return wire.EqualFold(name, "proxy-connection")
	case 18:
		return wire.EqualFold(name, "proxy-authenticate")
	case 19:
		return wire.EqualFold(name, "proxy-authorization")
	}
	return false
}

// connectionNamed returns the header names (lower case) the Connection
// fields of fields list, nil for none: one set per response, so that a
// response with many fields and a long Connection list costs time in
// their sum, not their product.
func connectionNamed(fields []wire.Field) map[string]bool {
	var named map[string]bool
	for _, f := range fields {
		if !wire.EqualFold(f.Name, "connection") {
			continue
		}
		for item := range bytes.SplitSeq(f.Value, comma) {
			if item = bytes.TrimSpace(item); len(item) > 0 {
				if named == nil {
					named = map[string]bool{}
				}
				named[string(bytes.ToLower(item))] = true
			}
		}
	}
	return named
}

var comma = []byte(",")

// isNamed reports whether named (lower case) has name, allocating only
// for a name with upper-case letters.
func isNamed(named map[string]bool, name []byte) bool {
	for _, b := range name {
		if 'A' <= b && b <= 'Z' {
			return named[string(bytes.ToLower(name))]
		}
	}
	return named[string(name)]
}

// httpDate returns the current time as an HTTP date, made at most once a
// second.
func httpDate() string {
	now := time.Now().Unix()
	if d := date.Load(); d != nil && d.at == now {
		return d.text
	}
	d := &dated{at: now, text: time.Unix(now, 0).UTC().Format(http.TimeFormat)}
	date.Store(d)
	return d.text
}

// date is the last HTTP date made, shared without a lock.
var date atomic.Pointer[dated]

type dated struct {
	at   int64
	text string
}

// fastCall is the state of one request's attempts; each fastConn reuses
// its own. It is the retry policy's Operation.
type fastCall struct {
	c        *fastConn
	r        *route
	deadline time.Time // request_timeout's, zero for none
	n        int       // attempts started
	prevErr  error     // the error of the previous attempt, when it failed without a response
	keep     bool      // the client connection stays open after the answer
	rate     ratelimit.Decision
	hasRate  bool

	// The response of the last attempt, its head read and its body not:
	// pending is set while it is held.
	pending  bool
	up       *h1.Conn
	at       time.Time // when its head arrived
	respHead []byte
	resp     wire.Response
	injected int // the status chaos answered the last attempt with, 0 for none
}

func (fc *fastCall) reset(r *route) {
	head, fields := fc.respHead[:0], fc.resp.Fields[:0]
	// An upstream's head may be as long as the header limit (10 MiB); a
	// connection keeps what a usual one needs, not the longest it saw.
	if cap(head) > keptHead {
		head = nil
	}
	if cap(fields) > keptFields {
		fields = nil
	}
	*fc = fastCall{c: fc.c, r: r, keep: !fc.c.req.Close, respHead: head, resp: wire.Response{Fields: fields}}
}

// The most a client connection keeps between requests for the upstream's
// response head, in bytes and header fields.
const (
	keptHead   = 16 << 10
	keptFields = 128
)

// retryable reports whether the request may be sent more than once: its
// method is one of the route's retry methods, which the config's validation
// keeps to idempotent ones (so an Idempotency-Key changes nothing here, as
// with bulwarkhttp.CanRetry under the route's RetryRequest).
func (fc *fastCall) retryable() bool {
	return fc.r.retryMethods[string(fc.c.req.Method)] // no allocation: a map key conversion
}

// fastStatus is the error of an attempt answered with a status worth
// retrying; the response is held (fastCall.pending) until the next attempt
// starts or the client gets it.
type fastStatus struct {
	code int
	wait time.Duration // the upstream's Retry-After, 0 for none
}

func (e *fastStatus) Error() string { return "upstream answered " + strconv.Itoa(e.code) }

// RetryAfter is the upstream's Retry-After, for the retry policy.
func (e *fastStatus) RetryAfter() time.Duration { return e.wait }

// Call runs the next attempt: the breaker, then one send under chaos.
func (fc *fastCall) Call(ctx context.Context) (any, error) {
	fc.drop()
	fc.n++
	r := fc.r
	var permit breaker.Permit
	if r.breaker != nil {
		p, err := r.breaker.br.Allow()
		if err != nil {
			if fc.n > 1 && fc.prevErr != nil {
				// The breaker opened on the previous attempt's failure:
				// that failure is the answer (as bulwarkhttp).
				return nil, retry.Permanent(fc.prevErr)
			}
			return nil, err
		}
		permit = p
	}
	r.stats.attempts.Add(1)
	var err error
	if r.chaos != nil {
		_, err = r.chaos.Execute(ctx, fastSend{fc})
		if err != nil {
			if code, ok := injectedCode(err); ok {
				fc.injected, fc.pending, err = code, true, nil
				fc.resp = wire.Response{Code: code, Fields: fc.resp.Fields[:0]}
			}
		}
	} else {
		err = fc.send(ctx)
	}
	code := fc.resp.Code
	if r.breaker != nil {
		switch {
		case err != nil && (ctx.Err() != nil || fc.c.f.hardStopped()):
			permit.Ignore() // the request's deadline, or the server ended it
		case err != nil || r.isFailure(code):
			permit.Failure()
		default:
			permit.Done(nil)
		}
	}
	if err != nil {
		fc.prevErr = err
		return nil, err
	}
	fc.prevErr = nil
	if r.retry == nil || !r.isFailure(code) {
		return fc, nil
	}
	se := &fastStatus{code: code}
	if v := fc.headerValue("retry-after"); v != nil {
		if d, ok := bulwarkhttp.ParseRetryAfter(string(v), time.Now()); ok {
			if d > bulwarkhttp.DefaultMaxPushback {
				return fc, nil // longer than the proxy may wait: the client gets it now
			}
			se.wait = d
		}
	}
	return fc, se
}

// injectedCode returns the status of chaos's injected error err.
func injectedCode(err error) (int, bool) {
	var inj *injectedStatus
	if errors.As(err, &inj) {
		return inj.code, true
	}
	return 0, false
}

// headerValue returns the first value of the response header name (lower
// case), or nil.
func (fc *fastCall) headerValue(name string) []byte {
	for _, f := range fc.resp.Fields {
		if wire.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return nil
}

// fastSend is one send, as chaos's Operation.
type fastSend struct{ fc *fastCall }

func (s fastSend) Call(ctx context.Context) (any, error) { return nil, s.fc.send(ctx) }

// drop lets go of the response held from the previous attempt. Its
// connection is kept when its whole body has already arrived (and is
// discarded from the buffer); otherwise it is closed rather than read: an
// upstream dripping the body of an answer being retried must not hold up
// the retry, for as long as it drips when no deadline is set.
func (fc *fastCall) drop() {
	if !fc.pending {
		return
	}
	fc.pending, fc.injected = false, 0
	if fc.up == nil {
		return
	}
	reuse := !fc.resp.Close && fc.bodyBuffered()
	if reuse && !fc.resp.NoBody {
		fc.up.Reader().Discard(int(fc.resp.Length)) // buffered: no read
	}
	fc.release(reuse)
}

// release gives the attempt's upstream connection back to the pool (reuse)
// or closes it.
func (fc *fastCall) release(reuse bool) {
	up := fc.up
	if up == nil {
		return
	}
	fc.up = nil
	if fc.c.detach() {
		reuse = false // its deadline was cut behind the pool's back
	}
	if !reuse {
		up.NetConn().Close()
		return
	}
	fc.c.f.up.Put(up, fc.at) // with its deadline: the next user sets or clears it
}

// send sends the request to the upstream once and reads its response head,
// under the attempt's deadline: the route's timeout until the head arrives,
// within request_timeout. 1xx responses are forwarded to the client as they
// come.
func (fc *fastCall) send(ctx context.Context) error {
	if ctx.Err() != nil {
		return fc.ended()
	}
	r := fc.r
	c := fc.c
	// The attempt's deadline: its timeout from now (the dial included, as
	// on net/http's path), within request_timeout.
	start := time.Now()
	var dialBy time.Time
	dl, bound := fc.deadline, false
	if t := r.cfg.Timeout; t > 0 {
		dialBy = start.Add(t)
		if dl.IsZero() || dialBy.Before(dl) {
			dl, bound = dialBy, true
		}
	}
	up, err := c.f.up.Get(ctx, r.fastAddr, start, dialBy)
	if err != nil {
		if ctx.Err() != nil {
			return fc.ended()
		}
		return err
	}
	nc := up.NetConn()
	// The deadline first: an abort or a client watch that cuts the
	// connection once it is attached is not undone.
	up.SetDeadline(dl)
	if !c.attach(nc) {
		nc.Close()
		c.attach(nil)
		return fc.ended() // shutdown's hard stop, or the client gone
	}
	fc.up = up
	err = fc.exchange(up)
	if err == nil {
		fc.at = time.Now()
		r.stats.upstream.observe(fc.at.Sub(start))
		if bound && !fc.bodyBuffered() {
			up.SetDeadline(fc.deadline) // the body: request_timeout only
			c.keepCut(nc)
		}
		fc.pending = true
		return nil
	}
	fc.release(false)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		switch {
		case c.isGone():
			return errClientGone
		case c.f.hardStopped():
			return errShutdown
		case bound && !time.Now().Before(dl):
			r.stats.timeouts.Add(1)
			return &timeout.ExceededError{Duration: r.cfg.Timeout, Err: err}
		case !fc.deadline.IsZero():
			return errRequestTimeout
		}
	}
	return err
}

// bodyBuffered reports whether the whole body of the response just read is
// in the upstream connection's buffer.
func (fc *fastCall) bodyBuffered() bool {
	resp := &fc.resp
	return resp.NoBody || resp.Length >= 0 && !resp.Chunked && int64(fc.up.Reader().Buffered()) >= resp.Length
}

// ended returns the error of an attempt whose request's context ended:
// the server's shutdown, or request_timeout.
func (fc *fastCall) ended() error {
	switch {
	case fc.c.isGone():
		return errClientGone
	case fc.c.f.hardStopped():
		return errShutdown
	}
	return errRequestTimeout
}

// errShutdown is the error of an attempt the server ended on shutdown.
var errShutdown = errors.New("sidecar: the proxy is shutting down")

// exchange writes the request on up and reads the final response's head.
func (fc *fastCall) exchange(up *h1.Conn) error {
	fc.writeRequest(up.Writer())
	if err := up.Writer().Flush(); err != nil {
		return err
	}
	head := wire.EqualFold(fc.c.req.Method, "head")
	max := int(min(fc.c.f.up.MaxHead(), 1<<30))
	for {
		var err error
		fc.respHead, err = wire.ReadHead(up.Reader(), fc.respHead[:0], max)
		if err != nil {
			return err
		}
		if err := wire.ParseResponse(fc.respHead, head, &fc.resp); err != nil {
			return err
		}
		code := fc.resp.Code
		if code >= 200 {
			return nil
		}
		if code == http.StatusSwitchingProtocols {
			return errors.New("sidecar: upstream switched protocols on a request that asked for no upgrade")
		}
		// A 1xx (103 Early Hints): to the client now, as ReverseProxy.
		c := fc.c
		c.statusLine(code, fc.resp.Reason)
		c.commonHeaders()
		c.fields(fc.resp.Fields, false, false)
		c.bw.WriteString("\r\n")
		if err := c.bw.Flush(); err != nil {
			fc.keep = false
		}
	}
}

// writeRequest writes the request head to the upstream, as the route's
// ReverseProxy would: the target joined to the upstream URL (strip_prefix
// applied), Host the upstream's, the client's fields but hop-by-hop ones
// and those the proxy sets (X-Forwarded-*, Forwarded, X-Real-Ip), then
// X-Forwarded-For, -Host, -Proto and X-Real-Ip.
func (fc *fastCall) writeRequest(w *bufio.Writer) {
	r := fc.r
	req := &fc.c.req
	w.Write(req.Method)
	w.WriteByte(' ')
	w.WriteString(r.fastPath)
	path := req.Path
	if r.cfg.StripPrefix {
		path = path[len(r.cfg.Prefix):]
		for len(path) > 0 && path[0] == '/' {
			path = path[1:]
		}
		w.WriteByte('/')
	}
	w.Write(path)
	switch {
	case r.fastQuery != "" && len(req.Query) > 0:
		w.WriteByte('?')
		w.WriteString(r.fastQuery)
		w.WriteByte('&')
		w.Write(req.Query)
	case r.fastQuery != "":
		w.WriteByte('?')
		w.WriteString(r.fastQuery)
	case req.Query != nil:
		w.WriteByte('?')
		w.Write(req.Query)
	}
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(r.upstream.Host)
	w.WriteString("\r\n")
	for _, f := range req.Fields {
		if hopByHop(f.Name) || forwardedField(f.Name) {
			continue
		}
		w.Write(f.Name)
		w.WriteString(": ")
		w.Write(f.Value)
		w.WriteString("\r\n")
	}
	client, xff := fc.clientIP()
	header(w, "X-Forwarded-For", xff)
	w.WriteString("X-Forwarded-Host: ")
	w.Write(req.Host)
	w.WriteString("\r\nX-Forwarded-Proto: http\r\n")
	header(w, "X-Real-Ip", client)
	w.WriteString("\r\n")
}

// forwardedField reports whether the client's field name is one the proxy
// sets itself (or, for Forwarded, drops as ReverseProxy does).
func forwardedField(name []byte) bool {
	switch len(name) {
	case 9:
		return wire.EqualFold(name, "forwarded") || wire.EqualFold(name, "x-real-ip")
	case 15:
		return wire.EqualFold(name, "x-forwarded-for")
	case 16:
		return wire.EqualFold(name, "x-forwarded-host")
	case 17:
		return wire.EqualFold(name, "x-forwarded-proto")
	}
	return false
}

// clientIP returns the client's address and the X-Forwarded-For to send:
// the peer's, unless trusted_proxies trust it (then the header's, as
// route.forwarded).
func (fc *fastCall) clientIP() (client, xff string) {
	c := fc.c
	r := fc.r
	if len(r.trusted) == 0 {
		return c.peer, c.peer
	}
	req := &http.Request{RemoteAddr: c.remote, Header: http.Header{}}
	for _, f := range c.req.Fields {
		if wire.EqualFold(f.Name, "x-forwarded-for") {
			req.Header.Add("X-Forwarded-For", string(f.Value))
		}
	}
	client, xff = r.clientIP(req), c.peer
	if prior := req.Header.Values("X-Forwarded-For"); len(prior) > 0 && r.fromTrusted(req) {
		xff = joinComma(prior) + ", " + c.peer
	}
	return client, xff
}

func joinComma(v []string) string {
	out := v[0]
	for _, s := range v[1:] {
		out += ", " + s
	}
	return out
}

// handoffListener is the listener of net/http's server on the fast path:
// it accepts the connections the fast path hands over.
type handoffListener struct {
	addr   net.Addr
	conns  chan net.Conn
	mu     sync.Mutex
	closed chan struct{}
	once   sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

// deliver hands c to the server, or reports false when the listener is
// closed.
func (l *handoffListener) deliver(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// prefixConn is a connection whose first bytes were already read: Read
// returns them before reading the connection.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
