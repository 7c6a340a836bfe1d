// Package upstreamtest provides HTTP upstreams on loopback for the tests of
// the proxying packages (bulwarkhttp, sidecar): an upstream that resets
// every connection once warmed up with keep-alive connections, and one that
// counts the connections it accepts.
package upstreamtest

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Storm is a loopback HTTP/1.1 upstream that answers normally until Reset
// is called, then resets (RST, no answer) every connection on which it
// reads a request. It counts the requests it reads while resetting.
type Storm struct {
	*httptest.Server
	resetting atomic.Bool
	resets    atomic.Int64

	mu      sync.Mutex
	arrived int
	want    int
	all     chan struct{} // closed when want requests have arrived while warming
}

// NewStorm starts a Storm, closed at the end of the test.
func NewStorm(t testing.TB) *Storm {
	t.Helper()
	s := &Storm{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *Storm) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	if s.resetting.Load() {
		s.resets.Add(1)
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // Close sends RST
		}
		_ = c.Close()
		return
	}
	s.mu.Lock()
	s.arrived++
	all := s.all
	if s.arrived == s.want && all != nil {
		close(all)
	}
	s.mu.Unlock()
	if all != nil {
		select {
		case <-all:
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}
	_, _ = io.WriteString(w, "warm")
}

// Warm opens n keep-alive connections from client: it sends n requests to
// path at once and holds every answer until all n have arrived, so that
// each is on a connection of its own; the client's transport then keeps
// as many of them idle as it may. It fails the test if a request fails or
// the n requests do not all arrive within 5 s.
func (s *Storm) Warm(t testing.TB, client *http.Client, url string, n int) {
	t.Helper()
	s.mu.Lock()
	s.arrived, s.want, s.all = 0, n, make(chan struct{})
	s.mu.Unlock()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := client.Get(url)
			if err != nil {
				errs <- err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("warming up: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.arrived != n {
		t.Fatalf("warming up: %d requests arrived, want %d", s.arrived, n)
	}
	s.all = nil
}

// Reset makes the upstream reset every connection it reads a request on
// from now on.
func (s *Storm) Reset() { s.resetting.Store(true) }

// Resets returns how many requests the upstream has read (and reset)
// since Reset.
func (s *Storm) Resets() int64 { return s.resets.Load() }

// Counting starts a loopback upstream serving h that adds each connection
// it accepts to conns; it is closed at the end of the test.
func Counting(t testing.TB, h http.Handler, conns *atomic.Int64) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}
