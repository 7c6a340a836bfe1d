// Package h1 is the sidecar's upstream client for plain HTTP/1.1 requests
// without a body: it writes the request and reads the response on the
// caller's goroutine, over a pool of keep-alive connections, and hands every
// other request to a net/http Transport.
//
// net/http's Transport runs two goroutines per connection, one writing
// requests and one reading responses, and each round trip crosses them
// through channels; on a proxy's hot path sending a GET without them saves
// 17-20 % of the CPU per request (bench/README.md, issue 11). A GET needs none of
// it: there is no body to write while the response arrives. The parsing is
// net/http's own (Request.Write and ReadResponse), so the bytes on the wire
// and the checks on the response are the ones http.Transport uses.
//
// On the systems package rawsock supports (Linux, the BSDs, macOS), for a
// bare socket, a flushed request is written by the read of its answer, inside
// the runtime poller's read wait, which then waits for the socket to become
// readable before it reads (sock.go): one system call fewer per
// request than a write and a read that first finds nothing.
//
// Like the Transport under bulwarkhttp, it never sends a request twice: a
// failure on a reused connection is returned to the caller, whose retry
// policy counts it. A pooled connection the upstream closed while it was
// idle is found before it is used (a non-blocking peek at the socket) and
// dropped, so an upstream's keep-alive timeout costs no failed attempt.
package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Transport is an http.RoundTripper; see the package comment. Make one with
// New. It is safe for concurrent use.
type Transport struct {
	fallback *http.Transport
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	proxied  bool // the fallback sends http:// requests through a proxy
	maxIdle  int
	idleFor  time.Duration
	maxHead  int64

	mu     sync.Mutex
	idle   map[string][]*conn // by host:port, most recently used last
	sweep  *time.Timer        // closes connections idle past idleFor
	closed int                // generation: CloseIdleConnections moves it on
}

// New returns a Transport that sends what it can itself, with fallback's
// dialer, idle limits and response header limit, and the rest through
// fallback. If fallback would send plain HTTP through a proxy (its Proxy
// function names one for an http:// URL in the environment), every request
// goes to fallback.
func New(fallback *http.Transport) *Transport {
	t := &Transport{
		fallback: fallback,
		dial:     fallback.DialContext,
		maxIdle:  fallback.MaxIdleConnsPerHost,
		idleFor:  fallback.IdleConnTimeout,
		maxHead:  fallback.MaxResponseHeaderBytes,
		idle:     map[string][]*conn{},
	}
	if t.dial == nil {
		t.dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	if t.maxIdle <= 0 {
		t.maxIdle = http.DefaultMaxIdleConnsPerHost
	}
	if t.idleFor <= 0 {
		t.idleFor = 90 * time.Second
	}
	if t.maxHead <= 0 {
		t.maxHead = 10 << 20 // net/http's Transport default
	}
	if fallback.Proxy != nil {
		probe := &http.Request{URL: &url.URL{Scheme: "http", Host: "upstream.invalid", Path: "/"}}
		if u, err := fallback.Proxy(probe); err != nil || u != nil {
			t.proxied = true
		}
	}
	return t
}

// CloseIdleConnections closes the idle connections of both transports.
// Connections in use are closed when their response ends.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*conn{}
	t.closed++
	if t.sweep != nil {
		t.sweep.Stop()
		t.sweep = nil
	}
	t.mu.Unlock()
	for _, list := range idle {
		for _, c := range list {
			c.nc.Close()
		}
	}
	t.fallback.CloseIdleConnections()
}

// RoundTrip sends req once. Requests with a body, upgrades, https and
// anything but HTTP/1.1 to an http:// upstream go to the fallback.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.handles(req) {
		return t.fallback.RoundTrip(req)
	}
	ctx := req.Context()
	if ctx.Err() != nil {
		closeBody(req)
		return nil, context.Cause(ctx)
	}
	c, err := t.get(ctx, dialAddr(req.URL))
	if err != nil {
		closeBody(req)
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, err
	}
	stop := context.AfterFunc(ctx, c.abort)
	resp, err := c.roundTrip(req, t.maxHead)
	if err != nil {
		stop()
		c.nc.Close()
		if ctx.Err() != nil {
			return nil, context.Cause(ctx) // as net/http's Transport
		}
		return nil, err
	}
	b := &body{t: t, c: c, rc: resp.Body, stop: stop, ctx: ctx, keep: !resp.Close && !req.Close}
	if resp.Body == http.NoBody {
		b.eof.Store(true)
	}
	resp.Body = b
	return resp, nil
}

// handles reports whether req is one this transport sends itself.
func (t *Transport) handles(req *http.Request) bool {
	if t.proxied || req.URL == nil || req.URL.Scheme != "http" || req.URL.Host == "" {
		return false
	}
	if req.ContentLength != 0 || !emptyBody(req) {
		return false
	}
	if req.Method == http.MethodConnect || req.Header.Get("Upgrade") != "" {
		return false
	}
	host := req.URL.Hostname()
	for i := 0; i < len(host); i++ {
		if host[i] >= utf8.RuneSelf {
			return false // net/http dials its IDNA (punycode) form
		}
	}
	return true
}

// dialAddr is the address net/http's Transport dials for u: its host, and
// its port or 80 when the URL has none ("http://backend").
func dialAddr(u *url.URL) string {
	if u.Port() != "" {
		return u.Host // host:port or [v6]:port as it is, without an allocation
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// emptyBody reports whether req has no body: none at all, http.NoBody, or
// the empty body bulwarkhttp gives a request it must not see replayed
// (TransferEncoding "identity", ContentLength 0).
func emptyBody(req *http.Request) bool {
	if req.Body == nil || req.Body == http.NoBody {
		return len(req.TransferEncoding) == 0
	}
	return len(req.TransferEncoding) == 1 && req.TransferEncoding[0] == "identity"
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// get returns an idle connection to addr that the upstream has not closed,
// or a new one.
func (t *Transport) get(ctx context.Context, addr string) (*conn, error) {
	if c, ok := t.getIdle(addr, time.Now()); ok {
		if c.dirty {
			c.nc.SetDeadline(time.Time{})
			c.dirty = false
		}
		return c, nil
	}
	return t.dialNew(ctx, addr)
}

// getIdle returns an idle connection to addr that the upstream has not
// closed, if there is one; now is the time.
func (t *Transport) getIdle(addr string, now time.Time) (*conn, bool) {
	for {
		t.mu.Lock()
		list := t.idle[addr]
		if len(list) == 0 {
			t.mu.Unlock()
			return nil, false
		}
		c := list[len(list)-1]
		list[len(list)-1] = nil
		t.idle[addr] = list[:len(list)-1]
		t.mu.Unlock()
		if now.Sub(c.idleAt) < t.idleFor && c.br.Buffered() == 0 && c.peek.alive() {
			return c, true
		}
		c.nc.Close()
	}
}

// dialNew returns a new connection to addr.
func (t *Transport) dialNew(ctx context.Context, addr string) (*conn, error) {
	t.mu.Lock()
	gen := t.closed
	t.mu.Unlock()
	nc, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return newConn(nc, addr, gen), nil
}

// put returns c to the pool, or closes it when the pool is full or was
// emptied by CloseIdleConnections since c was made; now is the time, or
// earlier (the idle time counts from it).
func (t *Transport) put(c *conn, now time.Time) {
	if c.sock.pending() { // flushed but never sent: not a connection to reuse
		c.nc.Close()
		return
	}
	t.mu.Lock()
	list := t.idle[c.addr]
	if c.gen != t.closed || len(list) >= t.maxIdle {
		t.mu.Unlock()
		c.nc.Close()
		return
	}
	if n := len(list); n > 0 && now.Before(list[n-1].idleAt) {
		now = list[n-1].idleAt // the list stays in idle order, for expire
	}
	c.idleAt = now
	t.idle[c.addr] = append(list, c)
	if t.sweep == nil {
		t.sweep = time.AfterFunc(t.idleFor, t.expire)
	}
	t.mu.Unlock()
}

// expire closes the connections idle for idleFor or longer, and runs again
// while any are left.
func (t *Transport) expire() {
	cutoff := time.Now().Add(-t.idleFor)
	var old []*conn
	t.mu.Lock()
	for addr, list := range t.idle {
		n := 0 // oldest first: the expired ones are a prefix
		for n < len(list) && !list[n].idleAt.After(cutoff) {
			n++
		}
		switch {
		case n == 0:
		case n == len(list):
			old = append(old, list...)
			delete(t.idle, addr)
		default:
			old = append(old, list[:n]...)
			t.idle[addr] = slices.Delete(list, 0, n) // in place; clears the tail
		}
	}
	if t.sweep != nil {
		if len(t.idle) > 0 {
			t.sweep.Reset(t.idleFor / 2)
		} else {
			t.sweep = nil
		}
	}
	t.mu.Unlock()
	for _, c := range old {
		c.nc.Close()
	}
}

// conn is one keep-alive connection to an upstream.
type conn struct {
	nc     net.Conn
	peek   *peeker
	sock   sock        // nc, for br and bw
	lr     limitReader // sock, with the response header limit while it is read
	br     *bufio.Reader
	bw     *bufio.Writer
	addr   string
	gen    int
	idleAt time.Time
	dirty  bool // a deadline may be set: cleared before the Transport uses it
}

func newConn(nc net.Conn, addr string, gen int) *conn {
	c := &conn{nc: nc, addr: addr, gen: gen, peek: newPeeker(nc)}
	c.sock.init(nc)
	c.lr = limitReader{r: &c.sock, n: math.MaxInt64}
	c.br = bufio.NewReaderSize(&c.lr, 4<<10)
	c.bw = bufio.NewWriterSize(&c.sock, 4<<10)
	return c
}

// abort ends whatever the connection is doing: the request's context ended.
func (c *conn) abort() { c.nc.SetDeadline(aLongTimeAgo) }

var aLongTimeAgo = time.Unix(1, 0)

// errHeaderTooLarge is returned for a response whose header exceeds the
// limit.
var errHeaderTooLarge = errors.New("h1: upstream response header too large")

// roundTrip writes req and reads its response, passing 1xx responses to
// the request's httptrace hook as net/http's Transport does.
func (c *conn) roundTrip(req *http.Request, maxHead int64) (*http.Response, error) {
	if err := req.Write(c.bw); err != nil {
		return nil, err
	}
	if err := c.bw.Flush(); err != nil {
		return nil, err
	}
	trace := httptrace.ContextClientTrace(req.Context())
	c.lr.n = maxHead + int64(c.br.Size())
	defer func() { c.lr.n = math.MaxInt64 }()
	hook := trace != nil && trace.Got1xxResponse != nil
	for informational := 0; ; informational++ {
		resp, err := http.ReadResponse(c.br, req)
		if err != nil {
			if c.lr.n <= 0 {
				return nil, errHeaderTooLarge
			}
			return nil, err
		}
		code := resp.StatusCode
		if code < 100 || code > 199 {
			return resp, nil
		}
		if code == http.StatusSwitchingProtocols {
			return nil, errors.New("h1: upstream switched protocols on a request that asked for no upgrade")
		}
		if !hook {
			// Unseen 1xx responses share the final one's header limit
			// (as net/http's Transport), and are few.
			if informational == 5 {
				return nil, errors.New("h1: too many 1xx informational responses")
			}
			continue
		}
		// As net/http's Transport: 1xx responses delivered to the hook
		// are the hook's to bound, in number (the context bounds the
		// time), and each response has its own header limit.
		if err := trace.Got1xxResponse(code, textproto.MIMEHeader(resp.Header)); err != nil {
			return nil, err
		}
		c.lr.n = maxHead + int64(c.br.Size())
	}
}

// limitReader reads from r until n bytes have been read, then fails.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// body is a response body on a pooled connection: read to its end and
// closed, it gives the connection back.
type body struct {
	t    *Transport
	c    *conn
	rc   io.ReadCloser
	stop func() bool // stops the context's abort
	ctx  context.Context
	keep bool
	eof  atomic.Bool
	done atomic.Bool
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.eof.Store(true)
	} else if err != nil {
		if b.ctx.Err() != nil {
			err = fmt.Errorf("h1: reading the response body: %w", context.Cause(b.ctx))
		}
	}
	return n, err
}

// Close ends the body; the connection goes back to the pool if the body was
// read to its end, the upstream keeps it open and the context did not end.
func (b *body) Close() error {
	if b.done.Swap(true) {
		return nil
	}
	stopped := b.stop()
	if !b.eof.Load() {
		// net/http's body would read the rest on Close: close the
		// connection instead, whatever the upstream still sends.
		b.c.nc.Close()
		return nil
	}
	err := b.rc.Close()
	if stopped && b.keep {
		b.t.put(b.c, time.Now())
	} else {
		b.c.nc.Close()
	}
	return err
}

// Conn is a pooled keep-alive connection, for a caller that writes its
// requests and reads their responses itself (the sidecar's fast path).
type Conn = conn

// NetConn returns the connection's socket.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Reader returns the buffered reader of the connection's responses.
func (c *Conn) Reader() *bufio.Reader { return c.br }

// Writer returns the buffered writer of the connection's requests.
func (c *Conn) Writer() *bufio.Writer { return c.bw }

// SetDeadline sets the deadline of the connection's reads and writes (zero:
// none), skipping the call when there is nothing to clear. A connection
// given back to the pool with a deadline set has it cleared before the
// Transport's own round trips use it.
func (c *Conn) SetDeadline(t time.Time) {
	if t.IsZero() && !c.dirty {
		return
	}
	c.nc.SetDeadline(t)
	c.dirty = !t.IsZero()
}

// Direct reports whether requests to http:// upstreams may be sent straight
// to them: false when the fallback sends them through a proxy.
func (t *Transport) Direct() bool { return !t.proxied }

// MaxHead returns the response header limit, in bytes.
func (t *Transport) MaxHead() int64 { return t.maxHead }

// Get returns an idle connection to addr ("host:port") that the upstream
// has not closed, or a new one dialled under ctx, and by dialBy when it is
// not zero; now is the time. Give it back with Put once a response was
// read whole from it and both ends keep it open; close its NetConn
// otherwise.
func (t *Transport) Get(ctx context.Context, addr string, now, dialBy time.Time) (*Conn, error) {
	if c, ok := t.getIdle(addr, now); ok {
		return c, nil
	}
	if !dialBy.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dialBy)
		defer cancel()
	}
	return t.dialNew(ctx, addr)
}

// Put returns c to the pool (or closes it when the pool is full); its idle
// time counts from at, the time its response arrived or later.
func (t *Transport) Put(c *Conn, at time.Time) { t.put(c, at) }
