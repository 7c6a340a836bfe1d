package bulwarkhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bulwark-go/bulwark/retry"
)

// step is what the scripted server answers to one request.
type step struct {
	status     int
	retryAfter string
	body       string
	hangup     bool // close the connection without answering
}

// scripted is a loopback server that answers the i-th request with
// steps[i] (the last step repeats) and records what it saw.
type scripted struct {
	*httptest.Server
	mu     sync.Mutex
	steps  []step
	n      int
	bodies []string
	conns  atomic.Int64 // connections accepted (StateNew)
}

func newScripted(t *testing.T, steps ...step) *scripted {
	t.Helper()
	s := &scripted{steps: steps}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *scripted) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	i := s.n
	s.n++
	s.bodies = append(s.bodies, string(b))
	st := s.steps[min(i, len(s.steps)-1)]
	s.mu.Unlock()
	if st.hangup {
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close()
		}
		return
	}
	if st.retryAfter != "" {
		w.Header().Set("Retry-After", st.retryAfter)
	}
	w.WriteHeader(st.status)
	body := st.body
	if body == "" {
		body = fmt.Sprintf("answer %d", i+1)
	}
	io.WriteString(w, body)
}

func (s *scripted) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// newClient returns a client whose transport is NewTransport(c) over a
// fresh http.Transport, closed at the end of the test.
func newClient(t *testing.T, c TransportConfig) (*http.Client, *Transport) {
	t.Helper()
	base := &http.Transport{}
	if c.Base == nil {
		c.Base = base
	}
	tr, err := NewTransport(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(base.CloseIdleConnections)
	return &http.Client{Transport: tr}, tr
}

// fastRetry retries at once, up to n attempts.
func fastRetry(n int) *retry.Config {
	return &retry.Config{MaxAttempts: n, Backoff: retry.Constant{}}
}

// readAll reads and closes resp's body.
func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return string(b)
}

// trackedBody records whether it was closed.
type trackedBody struct {
	io.Reader
	closed atomic.Bool
}

func (b *trackedBody) Close() error { b.closed.Store(true); return nil }

// pipeListener is an in-memory listener, for servers inside a
// testing/synctest bubble, where loopback TCP does not block durably.
type pipeListener struct {
	ch     chan net.Conn
	done   chan struct{}
	closed sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.closed.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	c1, c2 := net.Pipe()
	select {
	case l.ch <- c2:
		return c1, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// servePipe serves h over in-memory connections and returns a base
// transport that dials them. Call the returned stop before the bubble ends.
func servePipe(h http.Handler) (base *http.Transport, stop func()) {
	l := newPipeListener()
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	base = &http.Transport{DialContext: l.dial}
	return base, func() {
		base.CloseIdleConnections()
		_ = srv.Close()
		<-done
	}
}

var errTest = errors.New("test error")

// must returns v, failing the test given to its result if err is not nil:
// must(http.Get(url))(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

var _ = strings.NewReader
