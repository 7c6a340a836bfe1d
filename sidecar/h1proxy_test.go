package sidecar

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The tests below run the whole proxy with its own upstream client (h1),
// as every fixture does, against real upstreams on loopback that misbehave
// in the ways an HTTP/1.1 client's connection pool must survive.

type h1Result struct {
	code    int
	header  http.Header
	trailer http.Header
	body    string
	err     error
}

func (p *fixture) do(method, path string, header ...string) h1Result {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, p.proxy.URL+path, nil)
	if err != nil {
		return h1Result{err: err}
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return h1Result{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return h1Result{code: resp.StatusCode, header: resp.Header, trailer: resp.Trailer, body: string(b), err: err}
}

// rawUpstream serves each accepted connection with serve, on loopback,
// until the test ends.
func rawUpstream(t *testing.T, serve func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					c.Close()
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
				}()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String()
}

// (a) An upstream restarted gracefully between two requests: the second
// request gets a fresh connection, not the closed one.
func TestH1UpstreamGracefulRestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	p := newFixtureAt(t, "routes:\n  - {name: api, prefix: /, upstream: 'http://%s'}\n", addr)
	for i := 0; i < 5; i++ {
		if r := p.do("GET", "/x"); r.err != nil || r.code != 200 || r.body != "ok" {
			t.Fatalf("round %d: %d %q %v", i, r.code, r.body, r.err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := srv.Shutdown(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		ln, err = net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		old := srv
		srv = &http.Server{Handler: h}
		go srv.Serve(ln)
		t.Cleanup(func() { old.Close(); srv.Close() })
	}
	if r := p.do("GET", "/x"); r.err != nil || r.code != 200 || r.body != "ok" {
		t.Fatalf("after the last restart: %d %q %v", r.code, r.body, r.err)
	}
}

// serveLoop reads requests on c and answers each with answer; answer
// returns false to close the connection after it.
func serveLoop(c net.Conn, answer func(req *http.Request, w *bufio.Writer) bool) {
	br := bufio.NewReader(c)
	bw := bufio.NewWriter(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		keep := answer(req, bw)
		if bw.Flush() != nil || !keep {
			return
		}
	}
}

// (b) Upstreams that close every connection after one answer.
func TestH1ConnectionCloseUpstreams(t *testing.T) {
	closing := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "ok")
	})
	http10 := rawUpstream(t, func(c net.Conn) {
		serveLoop(c, func(req *http.Request, w *bufio.Writer) bool {
			io.WriteString(w, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
			return false
		})
	})
	http10NoLength := rawUpstream(t, func(c net.Conn) {
		serveLoop(c, func(req *http.Request, w *bufio.Writer) bool {
			io.WriteString(w, "HTTP/1.0 200 OK\r\n\r\nok")
			return false
		})
	})
	for _, u := range []string{closing.URL, http10, http10NoLength} {
		p := newFixtureAt(t, "routes:\n  - {name: api, prefix: /, upstream: '%s'}\n", u)
		for i := 0; i < 20; i++ {
			if r := p.do("GET", "/x"); r.err != nil || r.code != 200 || r.body != "ok" {
				t.Fatalf("%s sequential %d: %d %q %v", u, i, r.code, r.body, r.err)
			}
		}
		var wg sync.WaitGroup
		var bad atomic.Int32
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := p.do("GET", "/x"); r.err != nil || r.code != 200 || r.body != "ok" {
					bad.Add(1)
					t.Errorf("%s concurrent: %d %q %v", u, r.code, r.body, r.err)
				}
			}()
		}
		wg.Wait()
	}
}

// (c) An upstream closing connections at random after answering, without
// saying so: no client request reaches it more than max_attempts times.
func TestH1UpstreamClosesAttemptsBounded(t *testing.T) {
	// The upstream closes one connection in three after answering, without
	// saying so: at once, or a moment later, so that the proxy may reuse a
	// connection it is about to lose.
	for _, delay := range []time.Duration{0, time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) { closingUpstreamAttempts(t, delay) })
	}
}

func closingUpstreamAttempts(t *testing.T, delay time.Duration) {
	var mu sync.Mutex
	arrivals := map[string]int{}
	u := rawUpstream(t, func(c net.Conn) {
		serveLoop(c, func(req *http.Request, w *bufio.Writer) bool {
			mu.Lock()
			arrivals[req.Header.Get("X-Tag")]++
			mu.Unlock()
			io.WriteString(w, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			if rand.IntN(3) != 0 {
				return true
			}
			if delay > 0 {
				w.Flush()
				time.Sleep(delay)
			}
			return false
		})
	})
	p := newFixtureAt(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', retry: {max_attempts: 3}}\n", u)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := 0; i < 50; i++ {
		wg.Go(func() {
			for j := 0; j < 4; j++ {
				r := p.do("GET", "/x", "X-Tag", fmt.Sprintf("%d-%d", i, j))
				if r.err != nil || r.code != 200 {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for tag, n := range arrivals {
		if n > 3 {
			t.Errorf("request %s reached the upstream %d times, want at most 3", tag, n)
		}
	}
	t.Logf("%d of 200 requests failed", failed.Load())
}

// (d) Large, slow, bodiless and chunked responses over pooled connections.
func TestH1ResponseBodies(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 10<<20/16)
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			io.WriteString(w, big)
		case "/drip":
			f := http.NewResponseController(w)
			for i := 0; i < 6; i++ {
				fmt.Fprintf(w, "%d", i)
				f.Flush()
				time.Sleep(50 * time.Millisecond)
			}
		case "/204":
			w.WriteHeader(204)
		case "/304":
			w.Header().Set("ETag", `"x"`)
			w.WriteHeader(304)
		case "/trailer":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "part1")
			http.NewResponseController(w).Flush()
			io.WriteString(w, "part2")
			w.Header().Set("X-Sum", "42")
		default:
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello"[:map[bool]int{true: 0, false: 5}[r.Method == "HEAD"]])
		}
	})
	p := newFixtureAt(t, "routes:\n  - {name: api, prefix: /, upstream: '%s'}\n", up.URL)
	if r := p.do("GET", "/big"); r.err != nil || r.body != big {
		t.Errorf("big: %d, %d bytes, %v", r.code, len(r.body), r.err)
	}
	if r := p.do("GET", "/drip"); r.err != nil || r.body != "012345" {
		t.Errorf("drip: %q %v", r.body, r.err)
	}
	for i := 0; i < 3; i++ {
		for _, c := range []struct{ method, path, body string }{
			{"HEAD", "/h", ""}, {"GET", "/h", "hello"}, {"GET", "/204", ""}, {"GET", "/h", "hello"},
			{"GET", "/304", ""}, {"GET", "/h", "hello"}, {"HEAD", "/big", ""}, {"GET", "/h", "hello"},
		} {
			if r := p.do(c.method, c.path); r.err != nil || r.body != c.body {
				t.Errorf("%s %s: %d %q %v, want %q", c.method, c.path, r.code, r.body, r.err, c.body)
			}
		}
	}
	r := p.do("GET", "/trailer")
	if r.err != nil || r.body != "part1part2" || r.trailer.Get("X-Sum") != "42" {
		t.Errorf("trailer: %q trailer %v %v", r.body, r.trailer, r.err)
	}
}

// (e) 103 Early Hints reach the client, and the final answer carries the
// rate limit's headers.
func TestH1EarlyHints(t *testing.T) {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "final")
	})
	p := newFixtureAt(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', rate_limit: {rate: 1000}}\n", up.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var hints []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		hints = append(hints, fmt.Sprintf("%d %s", code, h.Get("Link")))
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), "GET", p.proxy.URL+"/", nil)
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if len(hints) != 1 || hints[0] != "103 </style.css>; rel=preload" {
		t.Errorf("1xx seen: %q", hints)
	}
	if resp.StatusCode != 200 || string(b) != "final" || resp.Header.Get("Link") != "" {
		t.Errorf("final: %d %q Link %q", resp.StatusCode, b, resp.Header.Get("Link"))
	}
	for _, k := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
		if resp.Header.Get(k) == "" {
			t.Errorf("final answer without %s: %v", k, resp.Header)
		}
	}
}

// (f) request_timeout bounds the client's wait, for headers that never
// come and for a body that stalls.
func TestH1RequestTimeout(t *testing.T) {
	release := make(chan struct{})
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stall" {
			io.WriteString(w, "head")
			http.NewResponseController(w).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	p := newFixtureAt(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', request_timeout: 300ms}\n", up.URL)
	start := time.Now()
	r := p.do("GET", "/never")
	if d := time.Since(start); d > 400*time.Millisecond || r.code != 504 {
		t.Errorf("never: %d after %v (%v), want 504 within 400ms", r.code, d, r.err)
	}
	start = time.Now()
	r = p.do("GET", "/stall")
	if d := time.Since(start); d > 400*time.Millisecond || r.err == nil {
		t.Errorf("stall: %d %q after %v (%v), want a cut body within 400ms", r.code, r.body, d, r.err)
	}
}

// (g) The breaker opens on a refused upstream, and sends nothing while
// open.
func TestH1BreakerOpensOnRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := newFixtureAt(t, "routes:\n  - {name: api, prefix: /, upstream: 'http://%s', breaker: {window: consecutive, window_size: 3, wait: 1m}}\n", addr)
	for i := 0; i < 3; i++ {
		if r := p.do("GET", "/x"); r.code != 502 {
			t.Fatalf("attempt %d: %d %v, want 502", i, r.code, r.err)
		}
	}
	var hits atomic.Int32
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skip("port taken:", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })}
	go srv.Serve(ln)
	defer srv.Close()
	for i := 0; i < 5; i++ {
		if r := p.do("GET", "/x"); r.code != 503 || r.header.Get(HeaderReason) != "breaker_open" {
			t.Errorf("open: %d %s", r.code, r.header.Get(HeaderReason))
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("upstream got %d requests while the breaker was open", n)
	}
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	return len(ents)
}

// (i) After the scenarios above, with every server closed, the process
// holds the descriptors it held before.
func TestH1ScenariosReleaseFDs(t *testing.T) {
	before := openFDs(t)
	for _, f := range []func(*testing.T){
		TestH1UpstreamGracefulRestart, TestH1ConnectionCloseUpstreams, TestH1UpstreamClosesAttemptsBounded,
		TestH1ResponseBodies, TestH1EarlyHints, TestH1RequestTimeout, TestH1BreakerOpensOnRefused, TestUpgradePassesThrough,
	} {
		t.Run("", f)
	}
	deadline := time.Now().Add(3 * time.Second)
	for openFDs(t) > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if after := openFDs(t); after > before {
		t.Errorf("%d descriptors open before, %d after", before, after)
	}
}

// An attempt timeout bounds the wait for headers only: a body dripping for
// longer than it arrives whole; a failing answer retried is drained and its
// connection reused; raw HEAD/304 answers carrying a Content-Length do not
// desync the pooled connection.
func TestH1TimeoutRetryAndRawBodiless(t *testing.T) {
	var conns, reqs atomic.Int32
	u := rawUpstream(t, func(c net.Conn) {
		conns.Add(1)
		serveLoop(c, func(req *http.Request, w *bufio.Writer) bool {
			n := reqs.Add(1)
			switch req.URL.Path {
			case "/drip":
				io.WriteString(w, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n")
				for i := 0; i < 6; i++ {
					w.Flush()
					time.Sleep(40 * time.Millisecond)
					w.WriteString("x")
				}
			case "/flaky":
				if n%2 == 1 {
					io.WriteString(w, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy")
				} else {
					io.WriteString(w, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			case "/304":
				io.WriteString(w, "HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n")
			default:
				if req.Method == "HEAD" {
					io.WriteString(w, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
				} else {
					io.WriteString(w, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
				}
			}
			return true
		})
	})
	p := newFixtureAt(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', timeout: 100ms, retry: {max_attempts: 3, initial_backoff: 1ms}}\n", u)
	if r := p.do("GET", "/drip"); r.err != nil || r.body != "xxxxxx" {
		t.Errorf("drip under timeout: %d %q %v", r.code, r.body, r.err)
	}
	reqs.Store(0)
	for i := 0; i < 3; i++ {
		if r := p.do("GET", "/flaky"); r.err != nil || r.code != 200 || r.body != "ok" {
			t.Errorf("flaky: %d %q %v", r.code, r.body, r.err)
		}
		for _, c := range []struct{ m, p, body string }{{"HEAD", "/", ""}, {"GET", "/", "hello"}, {"GET", "/304", ""}, {"GET", "/", "hello"}} {
			if r := p.do(c.m, c.p); r.err != nil || r.body != c.body {
				t.Errorf("%s %s: %d %q %v", c.m, c.p, r.code, r.body, r.err)
			}
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d upstream connections, want 1 reused", n)
	}
}

// Long header lines both ways; a client that leaves mid-body frees the
// upstream connection.
func TestH1BigHeadersAndClientLeaving(t *testing.T) {
	long := strings.Repeat("v", 9000)
	gone := make(chan struct{}, 1)
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/endless" {
			w.Header().Set("Content-Length", "100000000")
			buf := make([]byte, 32<<10)
			for {
				if _, err := w.Write(buf); err != nil {
					gone <- struct{}{}
					return
				}
			}
		}
		for i := 0; i < 6; i++ {
			w.Header().Set(fmt.Sprintf("X-Long-%d", i), long)
		}
		w.Header().Set("X-Echo", r.Header.Get("X-In"))
		io.WriteString(w, r.URL.RawQuery)
	})
	p := newFixtureAt(t, "routes:\n  - {name: api, prefix: /, upstream: '%s'}\n", up.URL)
	r := p.do("GET", "/a%2Fb?q=1&r=%20", "X-In", long)
	if r.err != nil || r.code != 200 || r.header.Get("X-Long-5") != long || r.header.Get("X-Echo") != long || r.body != "q=1&r=%20" {
		t.Errorf("big headers: %d %q %v", r.code, r.body, r.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", p.proxy.URL+"/endless", nil)
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.CopyN(io.Discard, resp.Body, 1<<20)
	cancel()
	resp.Body.Close()
	select {
	case <-gone:
	case <-time.After(3 * time.Second):
		t.Error("the upstream still writes 3s after the client left")
	}
}

// Options.Dial opens the connections of the sidecar's own transport, for
// requests with and without a body alike.
func TestDialOption(t *testing.T) {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) { io.Copy(w, r.Body) })
	cfg, err := ParseConfig(fmt.Appendf(nil, "routes:\n  - {name: api, prefix: /, upstream: '%s'}\n", up.URL))
	if err != nil {
		t.Fatal(err)
	}
	var dials atomic.Int32
	s, err := New(cfg, Options{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}})
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(s.Handler())
	defer func() { proxy.Close(); s.Close() }()
	for _, body := range []string{"", "payload"} {
		resp, err := proxy.Client().Post(proxy.URL+"/", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != body {
			t.Fatalf("echo %q, want %q", got, body)
		}
	}
	if n := dials.Load(); n != 2 {
		t.Fatalf("Options.Dial opened %d connections, want 2 (one by h1, one by the fallback)", n)
	}
}
