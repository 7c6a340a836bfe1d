package sidecar

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixture is a sidecar serving on loopback, with its admin API.
type fixture struct {
	s      *Server
	proxy  *httptest.Server
	admin  *httptest.Server
	client *http.Client
	logs   *syncBuffer
}

// newFixture parses yaml (a format whose verbs take the upstreams' URLs)
// and serves it on loopback.
func newFixture(t *testing.T, yaml string, upstreams ...*httptest.Server) *fixture {
	t.Helper()
	args := make([]any, len(upstreams))
	for i, u := range upstreams {
		args[i] = u.URL
	}
	return newFixtureAt(t, yaml, args...)
}

// newFixtureAt is newFixture with yaml's verbs taking args (for upstreams
// that are not httptest servers).
func newFixtureAt(t *testing.T, yaml string, args ...any) *fixture {
	t.Helper()
	cfg, err := ParseConfig(fmt.Appendf(nil, yaml, args...))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	if fastFixture {
		cfg.FastPath = true
		cfg.ShutdownTimeout = min(cfg.ShutdownTimeout, time.Second) // the cleanup's wait
	}
	// Options.Transport nil: the tests run through the sidecar's own
	// upstream client, as `bulwark run` does.
	s, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if fastFixture {
		return serveFixture(t, s, logs)
	}
	f := &fixture{s: s, proxy: httptest.NewServer(s.Handler()), admin: httptest.NewServer(s.AdminHandler()), logs: logs}
	f.client = f.proxy.Client()
	t.Cleanup(func() {
		f.proxy.Close()
		f.admin.Close()
		s.Close()
	})
	return f
}

// fastFixture makes every fixture of newFixtureAt serve its proxy as
// `bulwark run` does with fast_path on (Server.Serve on a loopback
// listener), so that the suite runs through the fast path: set
// BULWARK_TEST_FAST_PATH=1 (.ci/run does, for this package).
var fastFixture = os.Getenv("BULWARK_TEST_FAST_PATH") == "1"

// loopbackListeners returns a proxy and an admin listener on loopback, for
// Server.Serve.
func loopbackListeners(t *testing.T) (pl, al net.Listener) {
	t.Helper()
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	al, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pl.Close()
		t.Fatal(err)
	}
	return pl, al
}

// dialProxy connects to addr, with a deadline d from now on every read and
// write (none when d is 0), and closes the connection when the test ends.
func dialProxy(t *testing.T, addr string, d time.Duration) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if d > 0 {
		c.SetDeadline(time.Now().Add(d))
	}
	return c
}

// serveWrapped serves oneRoute to upstream u, on the fast path or not, on
// a loopback listener wrapped by wrap, and returns the proxy's address.
// When the test ends the server stops, and Serve must return nil.
func serveWrapped(t *testing.T, u string, fast bool, wrap func(net.Listener) net.Listener) string {
	t.Helper()
	addr, stop, served := attackServeOn(t, fast, wrap, oneRoute, u)
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return addr
}

// serveFixture serves s with Serve on loopback listeners.
func serveFixture(t *testing.T, s *Server, logs *syncBuffer) *fixture {
	t.Helper()
	pl, al := loopbackListeners(t)
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, pl, al) }()
	ct := &http.Transport{}
	f := &fixture{s: s, proxy: &httptest.Server{URL: "http://" + pl.Addr().String()},
		admin: newLoopback(t, s.AdminHandler()), client: &http.Client{Transport: ct}, logs: logs}
	t.Cleanup(func() {
		ct.CloseIdleConnections()
		stop()
		<-served
	})
	return f
}

// upstream starts a loopback upstream closed at the end of the test.
func upstream(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	u := httptest.NewServer(h)
	t.Cleanup(u.Close)
	return u
}

// holdingUpstream answers each request "ok" after reading its body, but
// holds a request whose path ends in /hold until release is closed or the
// request ends, announcing it on arrived (buffered, one at a time) first.
func holdingUpstream(t *testing.T) (up *httptest.Server, arrived <-chan struct{}, release chan<- struct{}) {
	t.Helper()
	in := make(chan struct{}, 1)
	out := make(chan struct{})
	up = upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/hold") {
			select {
			case in <- struct{}{}:
			case <-r.Context().Done():
			}
			select {
			case <-out:
			case <-r.Context().Done():
			}
		}
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	})
	return up, in, out
}

type response struct {
	code   int
	header http.Header
	body   string
}

func do(t *testing.T, c *http.Client, method, url string, body string, header ...string) response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if strings.EqualFold(header[i], "Host") {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func (f *fixture) get(t *testing.T, path string, header ...string) response {
	t.Helper()
	return do(t, f.client, http.MethodGet, f.proxy.URL+path, "", header...)
}

// syncBuffer is a bytes.Buffer safe for concurrent writes (logs).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// counter is an upstream handler answering with a script: the status of
// the i-th request (1-based), or the last one for the rest.
type counter struct {
	mu     sync.Mutex
	n      int
	codes  []int
	bodies []string
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.n++
	code := c.codes[min(c.n, len(c.codes))-1]
	c.bodies = append(c.bodies, string(b))
	c.mu.Unlock()
	w.WriteHeader(code)
	fmt.Fprintf(w, "status %d for %s %s", code, r.Method, r.URL.Path)
}

func (c *counter) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// newLoopback serves h on loopback until the test ends.
func newLoopback(t *testing.T, h http.Handler) *httptest.Server {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}
