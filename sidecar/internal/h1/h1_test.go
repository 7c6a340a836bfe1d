package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/internal/upstreamtest"
)

// newTransport returns a Transport over a clone of http.DefaultTransport
// keeping idle idle connections per host, closed at the end of the test.
func newTransport(t *testing.T, idle int) *Transport {
	t.Helper()
	fb := http.DefaultTransport.(*http.Transport).Clone()
	fb.MaxIdleConnsPerHost = idle
	tr := New(fb)
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// counted starts an upstream running h that counts the connections it accepts.
func counted(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	conns := new(atomic.Int64)
	return upstreamtest.Counting(t, h, conns), conns
}

func get(t *testing.T, tr http.RoundTripper, ctx context.Context, method, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tr.RoundTrip(req)
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return string(b)
}

func TestKeepAliveReusesOneConnection(t *testing.T) {
	srv, conns := counted(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead {
			io.WriteString(w, "hello "+r.URL.Path)
		}
	})
	tr := newTransport(t, 4)
	for i, m := range []string{"GET", "HEAD", "GET", "DELETE", "GET"} {
		resp, err := get(t, tr, context.Background(), m, srv.URL+"/x")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body := readAll(t, resp)
		if m != "HEAD" && body != "hello /x" {
			t.Fatalf("request %d: body %q", i, body)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("upstream accepted %d connections for 5 sequential requests, want 1", n)
	}
}

// A connection the upstream closed while idle is dropped before use: the
// request goes out once, on a new connection, and succeeds.
func TestIdleCloseByUpstreamCostsNoFailure(t *testing.T) {
	var requests atomic.Int64
	var closed atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		io.WriteString(w, "ok")
	}))
	var conns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			conns.Add(1)
		case http.StateClosed:
			closed.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	tr := newTransport(t, 4)
	resp, err := get(t, tr, context.Background(), "GET", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	srv.CloseClientConnections() // the upstream's keep-alive timeout
	waitFor(t, func() bool { return closed.Load() == 1 })
	resp, err = get(t, tr, context.Background(), "GET", srv.URL)
	if err != nil {
		t.Fatalf("request after the upstream closed the idle connection: %v", err)
	}
	readAll(t, resp)
	if n, c := requests.Load(), conns.Load(); n != 2 || c != 2 {
		t.Fatalf("upstream read %d requests on %d connections, want 2 on 2", n, c)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// The property of issue 11's first defect at this layer: with 64 warm
// connections to an upstream that resets them, one request is sent once.
func TestResetStormSendsOnce(t *testing.T) {
	storm := upstreamtest.NewStorm(t)
	tr := newTransport(t, 64)
	storm.Warm(t, &http.Client{Transport: tr}, storm.URL, 64)
	storm.Reset()
	resp, err := get(t, tr, context.Background(), "GET", storm.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("a reset connection gave a response")
	}
	if n := storm.Resets(); n != 1 {
		t.Fatalf("one request reached the resetting upstream %d times, want 1", n)
	}
}

// serveLoopback serves each connection accepted on a loopback listener
// with serve, until the test ends, and returns the listener's address.
func serveLoopback(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				serve(c)
			})
		}
	})
	return ln.Addr().String()
}

// hangingUpstream reads a request on each connection, writes answer and
// then holds the connection open until the test ends.
func hangingUpstream(t *testing.T, answer string) string {
	t.Helper()
	done := make(chan struct{})
	addr := serveLoopback(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, answer)
		<-done
	})
	t.Cleanup(func() { close(done) }) // runs before serveLoopback's
	return "http://" + addr
}

func TestContextEndsWaitForHeaders(t *testing.T) {
	url := hangingUpstream(t, "")
	tr := newTransport(t, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := get(t, tr, ctx, "GET", url)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

// The error is the context's cause, as net/http's Transport returns it:
// the sidecar tells its request deadline from an attempt's by it.
func TestContextCauseReturned(t *testing.T) {
	url := hangingUpstream(t, "")
	tr := newTransport(t, 4)
	cause := errors.New("the request's deadline")
	ctx, cancel := context.WithTimeoutCause(context.Background(), 50*time.Millisecond, cause)
	defer cancel()
	if _, err := get(t, tr, ctx, "GET", url); !errors.Is(err, cause) {
		t.Fatalf("err = %v, want the context's cause", err)
	}
	if _, err := get(t, tr, ctx, "GET", url); !errors.Is(err, cause) {
		t.Fatalf("on an ended context: err = %v, want the context's cause", err)
	}
}

func TestContextEndsBodyRead(t *testing.T) {
	url := hangingUpstream(t, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
	tr := newTransport(t, 4)
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := get(t, tr, ctx, "GET", url)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err = io.ReadAll(resp.Body)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("body read after cancel: err = %v, want context.Canceled", err)
	}
	resp.Body.Close()
	if n := tr.idleCount(); n != 0 {
		t.Fatalf("%d connections pooled after a cancelled body", n)
	}
}

func (t *Transport) idleCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, list := range t.idle {
		n += len(list)
	}
	return n
}

// Closing a body before its end closes the connection at once, even when
// the upstream never sends the rest.
func TestEarlyCloseDoesNotDrain(t *testing.T) {
	url := hangingUpstream(t, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nsome")
	tr := newTransport(t, 4)
	resp, err := get(t, tr, context.Background(), "GET", url)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() { resp.Body.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the rest of the body")
	}
	if n := tr.idleCount(); n != 0 {
		t.Fatalf("%d connections pooled after an early close", n)
	}
}

func TestResponseHeaderLimit(t *testing.T) {
	big := "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\nContent-Length: 0\r\n\r\n"
	url := hangingUpstream(t, big)
	fb := http.DefaultTransport.(*http.Transport).Clone()
	fb.MaxResponseHeaderBytes = 16 << 10
	tr := New(fb)
	defer tr.CloseIdleConnections()
	_, err := get(t, tr, context.Background(), "GET", url)
	if !errors.Is(err, errHeaderTooLarge) {
		t.Fatalf("err = %v, want %v", err, errHeaderTooLarge)
	}
}

func TestInformationalResponses(t *testing.T) {
	url := hangingUpstream(t, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	tr := newTransport(t, 4)
	var got []int
	var link string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		got = append(got, code)
		link = h.Get("Link")
		return nil
	}}
	resp, err := get(t, tr, httptrace.WithClientTrace(context.Background(), trace), "GET", url)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if len(got) != 1 || got[0] != 103 || link != "</a.css>" {
		t.Fatalf("1xx seen: %v (Link %q), want [103] with the Link header", got, link)
	}
	if n := tr.idleCount(); n != 0 {
		t.Fatalf("a connection the upstream said it would close was pooled (%d idle)", n)
	}

	many := hangingUpstream(t, strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 6)+"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	if _, err := get(t, tr, context.Background(), "GET", many); err == nil {
		t.Fatal("six 1xx responses were accepted")
	}
	upgraded := hangingUpstream(t, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n")
	if _, err := get(t, tr, context.Background(), "GET", upgraded); err == nil {
		t.Fatal("a 101 to a request without Upgrade was accepted")
	}
}

// Bytes an upstream sends after a response are not taken for the next
// response: the connection is not reused.
func TestTrailingBytesDropConnection(t *testing.T) {
	url := hangingUpstream(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nforged")
	tr := newTransport(t, 4)
	resp, err := get(t, tr, context.Background(), "GET", url)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	tr.mu.Lock()
	var c *conn
	for _, list := range tr.idle {
		c = list[0]
	}
	tr.mu.Unlock()
	if c == nil {
		t.Fatal("the connection was not pooled")
	}
	if got, err := tr.get(context.Background(), c.addr); err == nil && got == c {
		t.Fatal("a connection with unread bytes from the upstream was reused")
	} else if err == nil {
		got.nc.Close()
	}
}

// Requests with a body, upgrades and https go to the fallback; the upstream
// receives the body whole.
func TestFallback(t *testing.T) {
	srv, _ := counted(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Method+" "+string(b))
	})
	tr := newTransport(t, 4)
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("payload"))
	if !tr.handles(&http.Request{Method: "GET", URL: req.URL, Header: http.Header{}}) {
		t.Fatal("a GET over http:// is not handled")
	}
	if tr.handles(req) {
		t.Fatal("a request with a body is handled, not passed to the fallback")
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); body != "POST payload" {
		t.Fatalf("body %q", body)
	}
	up, _ := http.NewRequest("GET", srv.URL, nil)
	up.Header.Set("Upgrade", "websocket")
	if tr.handles(up) {
		t.Fatal("an upgrade is handled")
	}
	secure, _ := http.NewRequest("GET", "https://127.0.0.1/", nil)
	if tr.handles(secure) {
		t.Fatal("https is handled")
	}
}

// A fallback that sends plain HTTP through a proxy takes every request:
// the proxy, not h1, must see them. (A Proxy function of the test's own:
// net/http reads HTTP_PROXY once per process, so setting it here could not
// make the test fail.)
func TestProxySendsAllToFallback(t *testing.T) {
	srv, conns := counted(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "via "+r.URL.String())
	})
	fb := http.DefaultTransport.(*http.Transport).Clone()
	fb.Proxy = func(*http.Request) (*url.URL, error) { return mustParse(srv.URL), nil }
	tr := New(fb)
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("GET", "http://upstream.test/x", nil)
	if tr.handles(req) {
		t.Fatal("a GET is handled while the fallback names a proxy")
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); body != "via http://upstream.test/x" || conns.Load() != 1 {
		t.Fatalf("the proxy answered %q on %d connections; want the absolute URL, on 1", body, conns.Load())
	}
}

// The sweep timer closes an idle connection after IdleConnTimeout, and is
// not left armed over an empty pool. In a synctest bubble, on its fake
// clock: the upstream runs outside the bubble, over real sockets.
func TestIdleConnectionsExpireAndClose(t *testing.T) {
	srv, _ := counted(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	synctest.Test(t, func(t *testing.T) {
		fb := http.DefaultTransport.(*http.Transport).Clone()
		fb.IdleConnTimeout = time.Minute
		fb.DialContext = (&net.Dialer{}).DialContext
		tr := New(fb)
		defer tr.CloseIdleConnections()
		resp, err := get(t, tr, context.Background(), "GET", srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		if tr.idleCount() != 1 {
			t.Fatal("the connection was not pooled")
		}
		time.Sleep(time.Minute - time.Nanosecond)
		synctest.Wait()
		if tr.idleCount() != 1 {
			t.Fatal("the connection was closed before IdleConnTimeout")
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		tr.mu.Lock()
		n, armed := len(tr.idle), tr.sweep != nil
		tr.mu.Unlock()
		if n != 0 || armed {
			t.Fatalf("after IdleConnTimeout: %d hosts pooled, sweep armed %v; want none, disarmed", n, armed)
		}
	})
}

func mustParse(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// The sweep closes the connections idle past the timeout and keeps the
// others, in order.
func TestExpireKeepsTheRecent(t *testing.T) {
	srv, _ := counted(t, func(w http.ResponseWriter, r *http.Request) {})
	fb := http.DefaultTransport.(*http.Transport).Clone()
	fb.IdleConnTimeout = time.Hour
	fb.MaxIdleConnsPerHost = 4
	tr := New(fb)
	defer tr.CloseIdleConnections()
	addr := strings.TrimPrefix(srv.URL, "http://")
	var conns []*conn
	for range 3 {
		c, err := tr.get(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		tr.put(c, time.Now())
	}
	tr.mu.Lock()
	conns[0].idleAt = conns[0].idleAt.Add(-2 * time.Hour) // the oldest, expired
	tr.mu.Unlock()
	tr.expire()
	tr.mu.Lock()
	left := slices.Clone(tr.idle[addr])
	tr.mu.Unlock()
	if len(left) != 2 || left[0] != conns[1] || left[1] != conns[2] {
		t.Fatalf("left %v, want the two recent connections in order %v", left, conns[1:])
	}
	if conns[0].nc.SetDeadline(time.Time{}) == nil { // fails on a closed connection
		t.Fatal("the expired connection is still open")
	}
}

// A request head larger than the socket takes at once goes out whole: the
// read that writes it finishes the write through net.Conn, then waits for
// the answer.
func TestLargeRequestHeadWrittenWhole(t *testing.T) {
	srv, _ := counted(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strconv.Itoa(len(r.Header.Get("X-Big"))))
	})
	fb := http.DefaultTransport.(*http.Transport).Clone()
	fb.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			c.(*net.TCPConn).SetWriteBuffer(4 << 10)
		}
		return c, err
	}
	tr := New(fb)
	defer tr.CloseIdleConnections()
	big := strings.Repeat("b", 512<<10)
	for i := range 3 { // the second and third on the kept connection
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("X-Big", big)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if got := readAll(t, resp); got != strconv.Itoa(len(big)) {
			t.Fatalf("request %d: the upstream read a header of %s bytes, want %d", i, got, len(big))
		}
	}
}

// A connection given back with an earlier time than the one pooled before
// it (its response arrived earlier, its body took longer) keeps the list in
// idle order, which expire's prefix scan relies on.
func TestPutKeepsIdleOrder(t *testing.T) {
	srv, _ := counted(t, func(w http.ResponseWriter, r *http.Request) {})
	tr := newTransport(t, 4)
	addr := strings.TrimPrefix(srv.URL, "http://")
	a, err := tr.get(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.get(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tr.put(a, now)
	tr.put(b, now.Add(-time.Hour))
	tr.mu.Lock()
	list := slices.Clone(tr.idle[addr])
	tr.mu.Unlock()
	if len(list) != 2 || list[1].idleAt.Before(list[0].idleAt) {
		t.Fatalf("idle times %v, %v: out of order", list[0].idleAt, list[1].idleAt)
	}
}
