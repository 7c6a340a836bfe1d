package sidecar

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/sidecar/internal/h1"

	"github.com/bulwark-go/bulwark/sidecar/internal/wire"
)

// Concurrency tests of the fast path: the client watch (watch.go) against
// the reads of the next request, shutdown against requests and watches,
// the upstream pool's deadlines, requestCtx.

// readResponses reads n responses from br, each summarised as "code body".
func readResponses(br *bufio.Reader, n int) ([]string, error) {
	var out []string
	for range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return out, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, fmt.Sprintf("%d %q", resp.StatusCode, b))
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// A client that pipelines its next request while a slow one is in flight:
// the watch reads the next request's first byte and keeps it; the
// watchdog's next ticks must not start another watch, which would read the
// second byte over the first (the next request would lose its bytes).
func TestFastRacePipelinedDuringWatch(t *testing.T) {
	paths(t, func(t *testing.T, fast bool) {
		up, arrived, release := holdingUpstream(t)
		f := attackServe(t, fast, oneRoute, up.URL)
		c, err := net.Dial("tcp", addrOf(f))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
		select {
		case <-arrived:
		case <-time.After(5 * time.Second):
			t.Fatal("the request did not arrive")
		}
		io.WriteString(c, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
		// The watch is time-driven: let several watchdog ticks pass with
		// the next request's bytes waiting on the socket.
		time.Sleep(watchAfter + 5*watchEvery)
		close(release)
		got, err := readResponses(bufio.NewReader(c), 2)
		if want := []string{`200 "ok"`, `200 "ok"`}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("pipelined during a slow request: %q (%v), want %q", got, err, want)
		}
	})
}

// fastRig is a fastServer of a Server serving oneRoute to upstream u,
// driven by hand, with one client connection on loopback: cc the client's
// end, c the fast path's.
type fastRig struct {
	s  *Server
	up *h1.Transport
	f  *fastServer
	c  *fastConn
	cc net.Conn
	r  *route
}

func newFastRig(t *testing.T, u string) *fastRig {
	t.Helper()
	cfg, err := ParseConfig(fmt.Appendf(nil, oneRoute, u))
	if err != nil {
		t.Fatal(err)
	}
	cfg.FastPath = true
	s, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	up, ok := s.base.(*h1.Transport)
	if !ok {
		t.Fatalf("base transport %T, want *h1.Transport", s.base)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	f := newFastServer(s, up, ln.Addr())
	t.Cleanup(f.stop)
	c := newFastConn(f, nc)
	c.head = []byte("GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
	r := c.route()
	if r == nil {
		t.Fatal("the fast path does not serve the route")
	}
	return &fastRig{s: s, up: up, f: f, c: c, cc: cc, r: r}
}

// A request whose upstream response was read whole (its body buffered)
// when the client watch found the client gone, or shutdown aborted the
// requests in flight: both cut the upstream connection with a deadline in
// the past, and forward then gives the connection back to the pool. The
// pool must not hand it, deadline and all, to the next round trip: h1's
// own (the net/http path's) clears only deadlines it knows of (the dirty
// flag of Conn.SetDeadline).
func TestFastRaceCutUpstreamNotPooled(t *testing.T) {
	u := upstream(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	for _, how := range []string{"client gone", "abort"} {
		t.Run(how, func(t *testing.T) {
			g := newFastRig(t, u.URL)
			c := g.c
			fc := &c.call
			fc.reset(g.r)
			ctx := newRequestCtx(g.f.ctx, time.Time{})
			defer ctx.cancel()
			c.begin(time.Now().Add(-time.Second), ctx) // waited long enough for a watch
			if err := fc.send(ctx); err != nil || !fc.pending {
				t.Fatalf("send: %v (pending %v)", err, fc.pending)
			}
			if !fc.bodyBuffered() {
				t.Fatal("the response body is not buffered: the rig needs it to be")
			}
			// The response's head and body are read; now the cut.
			switch how {
			case "client gone":
				g.cc.(*net.TCPConn).CloseWrite() // the watch's peek finds the end of file
				for deadline := time.Now().Add(5 * time.Second); !c.isGone(); {
					if time.Now().After(deadline) {
						t.Fatal("the watch did not find the client gone")
					}
					c.watch(time.Now())
				}
			case "abort":
				c.abort()
			}
			if o := c.forward(); o != outcomeOK {
				t.Fatalf("forward: %v", o)
			}
			c.bw.Flush() // serveRequest's, once the request is counted
			c.end()
			g.cc.SetReadDeadline(time.Now().Add(5 * time.Second))
			if got, err := readResponses(bufio.NewReader(g.cc), 1); err != nil || got[0] != `200 "ok"` {
				t.Fatalf("the client got %q (%v)", got, err)
			}
			// The net/http path's round trip to the same upstream.
			req, err := http.NewRequest("GET", u.URL+"/next", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := g.up.RoundTrip(req)
			if err != nil {
				t.Fatalf("h1 round trip after a cut connection went back to the pool: %v", err)
			}
			io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("h1 round trip: %d, want 200", resp.StatusCode)
			}
		})
	}
}

// Shutdown while connections go idle and active again as fast as they
// can: each keep-alive client sends requests back to back; shutdown starts
// amid them. Every connection must end (the idle ones closed, the busy ones
// after their request), and Serve must return nil well before
// shutdown_timeout: no connection is left waiting for a request that will
// not come, none is served after it was closed.
func TestFastRaceShutdownAsIdle(t *testing.T) {
	u := upstream(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	deadline := time.Now().Add(8 * time.Second)
	for i := 0; i < 8 && time.Now().Before(deadline); i++ {
		addr, stop, served := attackServeCtl(t, true, "shutdown_timeout: 5s\n"+oneRoute, u.URL)
		var done atomic.Int64
		var wg sync.WaitGroup
		for range 6 {
			// Dialled before shutdown can start: a dial after it is
			// refused, which is not what this test looks at.
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(c)
				for range 10000 {
					if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
						return
					}
					got, err := readResponses(br, 1)
					if err != nil {
						var ne net.Error
						if errors.As(err, &ne) && ne.Timeout() {
							t.Errorf("a client connection still open 5s after shutdown started")
						}
						return
					}
					if got[0] != `200 "ok"` {
						t.Errorf("got %q", got)
						return
					}
					done.Add(1)
				}
			})
		}
		for done.Load() < int64(20*(i+1)) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		start := time.Now()
		stop()
		select {
		case err := <-served:
			if d := time.Since(start); err != nil || d > 2*time.Second {
				t.Errorf("round %d: Serve returned %v after %v, want nil at once", i, err, d)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: Serve did not return", i)
		}
		wg.Wait()
	}
}

// Shutdown while a request with a client watch running waits for its
// upstream: gracefully (the upstream answers; the request gets it) and
// past shutdown_timeout (503 shutdown); the watch ends and Serve returns.
func TestFastRaceShutdownDuringWatch(t *testing.T) {
	for _, hard := range []bool{false, true} {
		t.Run(fmt.Sprint("hard=", hard), func(t *testing.T) {
			up, arrived, release := holdingUpstream(t)
			var once sync.Once
			free := func() { once.Do(func() { close(release) }) }
			defer free()
			timeout := "5s"
			if hard {
				timeout = "300ms"
			}
			addr, stop, served := attackServeCtl(t, true, "shutdown_timeout: "+timeout+"\n"+oneRoute, up.URL)
			inflight := sendAndWait(t, addr, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n", arrived)
			time.Sleep(watchAfter + 2*watchEvery) // a watch runs
			start := time.Now()
			stop()
			want := `200 "ok" X-Bulwark-Reason=[]`
			if hard {
				want = `503 "the proxy is shutting down\n" X-Bulwark-Reason=["shutdown"]`
			} else {
				time.Sleep(100 * time.Millisecond)
				free()
			}
			got := <-inflight
			if len(got) == 0 || got[0] != want {
				t.Errorf("in flight: %q, want %q", got, want)
			}
			select {
			case err := <-served:
				if (err != nil) != hard {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Serve did not return")
			}
			if d := time.Since(start); d > 300*time.Millisecond+drainGrace+time.Second {
				t.Errorf("shutdown took %v", d)
			}
		})
	}
}

// Shutdown past shutdown_timeout while a request sleeps in its retry
// backoff (5 s): the backoff ends with the request's context, the client
// gets an answer and Serve returns, within shutdown_timeout + drainGrace.
func TestFastRaceShutdownDuringBackoff(t *testing.T) {
	var calls atomic.Int64
	first := make(chan struct{}, 1)
	u := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			first <- struct{}{}
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "busy")
	})
	addr, stop, served := attackServeCtl(t, true, "shutdown_timeout: 300ms\nroutes:\n  - {name: api, prefix: /, upstream: '%s', "+
		"retry: {max_attempts: 3, backoff: constant, initial_backoff: 5s, jitter: none}}\n", u.URL)
	inflight := sendAndWait(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", first)
	time.Sleep(50 * time.Millisecond) // in the backoff
	start := time.Now()
	stop()
	got := <-inflight
	if d := time.Since(start); d > 300*time.Millisecond+drainGrace || len(got) < 2 {
		t.Errorf("in its backoff at shutdown: %q after %v", got, d)
	}
	if strings.HasPrefix(got[0], "200") || calls.Load() != 1 {
		t.Errorf("got %q after %d attempts", got, calls.Load())
	}
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// requestCtx under the context contract: Err is non-nil exactly when Done
// is closed, whatever the order of Done, Err, cancel (twice), gone and the
// parent's end; a child context ends with it; nothing is left running.
func TestFastRaceRequestCtxContract(t *testing.T) {
	t.Run("cancel twice, gone after", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			parent, stop := context.WithCancel(context.Background())
			defer stop()
			c := newRequestCtx(parent, time.Now().Add(time.Second))
			d := c.Done()
			c.cancel()
			c.cancel()
			c.gone()
			select {
			case <-d:
			default:
				t.Fatal("Done open after cancel")
			}
			if err := c.Err(); err != context.Canceled {
				t.Errorf("Err = %v, want context.Canceled", err)
			}
			time.Sleep(2 * time.Second)
			if err := c.Err(); err != context.Canceled {
				t.Errorf("Err past the deadline = %v, want context.Canceled still", err)
			}
		})
	})
	t.Run("child ends at the deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			parent, stop := context.WithCancel(context.Background())
			defer stop()
			start := time.Now()
			c := newRequestCtx(parent, start.Add(time.Second))
			defer c.cancel()
			child, cancel := context.WithCancel(c)
			defer cancel()
			<-child.Done()
			if d := time.Since(start); d != time.Second || child.Err() != context.DeadlineExceeded || c.Err() != context.DeadlineExceeded {
				t.Errorf("child ended after %v with %v (parent %v)", d, child.Err(), c.Err())
			}
		})
	})
	t.Run("child ends with gone and with the server", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			parent, stop := context.WithCancel(context.Background())
			c := newRequestCtx(parent, time.Time{})
			child, cancel := context.WithTimeout(c, time.Hour)
			defer cancel()
			c.gone()
			<-child.Done()
			if !errors.Is(c.Err(), context.Canceled) || !errors.Is(context.Cause(c), context.Canceled) {
				t.Errorf("gone: Err %v, Cause %v", c.Err(), context.Cause(c))
			}
			c.cancel()
			c2 := newRequestCtx(parent, time.Time{})
			child2, cancel2 := context.WithCancel(c2)
			defer cancel2()
			stop()
			<-child2.Done()
			if c2.Err() != context.Canceled {
				t.Errorf("server ended: Err %v", c2.Err())
			}
			c2.cancel()
		})
	})
	t.Run("concurrent", func(t *testing.T) {
		for i := range 300 {
			parent, stop := context.WithCancel(context.Background())
			c := newRequestCtx(parent, time.Now().Add(time.Duration(i%5)*100*time.Microsecond))
			var wg sync.WaitGroup
			for j := range 4 {
				wg.Go(func() {
					for range 20 {
						switch j {
						case 0:
							if err := c.Err(); err != nil {
								select {
								case <-c.Done():
								case <-time.After(time.Second):
									t.Error("Err non-nil, Done still open")
									return
								}
							}
						case 1:
							select {
							case <-c.Done():
								if c.Err() == nil {
									t.Error("Done closed, Err nil")
									return
								}
							default:
							}
						case 2:
							if i%3 == 0 {
								c.gone()
							}
						case 3:
							if i%2 == 0 {
								stop()
							}
						}
					}
				})
			}
			wg.Wait()
			c.cancel()
			c.cancel()
			select {
			case <-c.Done():
			default:
				t.Fatal("Done open after cancel")
			}
			stop()
		}
	})
}

// A clean shutdown of Serve on the fast path returns nil, whichever of the
// fast path's shutdown and net/http's (whose listener is the fast path's
// hand-off listener) runs first: net/http's server must not see its
// listener closed before it is told it is shutting down (its Serve would
// return "use of closed network connection", not http.ErrServerClosed).
func TestFastRaceServeShutdownClean(t *testing.T) {
	u := upstream(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	deadline := time.Now().Add(10 * time.Second)
	rounds := 0
	for ; rounds < 150 && time.Now().Before(deadline); rounds++ {
		_, stop, served := attackServeCtl(t, true, oneRoute, u.URL)
		stop()
		if err := <-served; err != nil {
			t.Fatalf("round %d: Serve returned %v after a clean shutdown, want nil", rounds, err)
		}
	}
	t.Logf("%d rounds", rounds)
}

// A request is counted before its answer's last bytes leave, on the fast
// path as on net/http's server: a client that reads the stats as soon as it
// has its answer finds its request there (the admin API's tests do).
func TestFastCountedBeforeAnswered(t *testing.T) {
	u := upstream(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	for _, fast := range []bool{true, false} {
		f := attackServe(t, fast, "routes:\n  - {name: api, prefix: /, upstream: '%s'}\n", u.URL)
		for i := 1; i <= 200; i++ {
			if r := f.do("GET", "/x"); r.err != nil || r.code != 200 {
				t.Fatalf("fast %v: request %d: %d %v", fast, i, r.code, r.err)
			}
			if c := f.s.snapshot().Routes[0].Counts; c.Requests != uint64(i) || c.OK != uint64(i) {
				t.Fatalf("fast %v: after answer %d the stats say %d requests, %d ok", fast, i, c.Requests, c.OK)
			}
		}
	}
}

// fast_path with a Transport of the caller's: every request must go through
// that Transport, so the fast path is not used, and the log says so.
func TestFastPathNotUsedWithTransport(t *testing.T) {
	u := upstream(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	cfg, err := ParseConfig(fmt.Appendf(nil, "fast_path: true\nroutes:\n  - {name: api, prefix: /, upstream: '%s'}\n", u.URL))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	tr := &countingTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
	defer tr.base.CloseIdleConnections()
	s, err := New(cfg, Options{Transport: tr, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	f := serveFixture(t, s, logs)
	if r := f.do("GET", "/x"); r.err != nil || r.code != 200 {
		t.Fatalf("%d %v", r.code, r.err)
	}
	if n := tr.n.Load(); n != 1 {
		t.Errorf("the caller's Transport sent %d requests, want 1", n)
	}
	if !strings.Contains(logs.String(), "fast_path is on but not used: Options.Transport is set") {
		t.Errorf("no warning in the log:\n%s", logs.String())
	}
}

type countingTransport struct {
	base *http.Transport
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// A client connection does not keep, from one request to the next, the
// buffers an upstream's longest head made it grow: 10 MiB heads on many
// connections would otherwise stay in memory.
func TestFastCallKeepsNoLargeBuffers(t *testing.T) {
	u := upstream(t, func(w http.ResponseWriter, r *http.Request) {})
	g := newFastRig(t, u.URL)
	fc := &g.c.call
	fc.respHead = make([]byte, 0, 1<<20)
	fc.resp.Fields = make([]wire.Field, 0, 10000)
	fc.reset(g.r)
	if cap(fc.respHead) > keptHead || cap(fc.resp.Fields) > keptFields {
		t.Errorf("kept %d bytes of head and %d fields", cap(fc.respHead), cap(fc.resp.Fields))
	}
	fc.respHead = make([]byte, 0, 4096)
	fc.reset(g.r)
	if cap(fc.respHead) != 4096 {
		t.Errorf("a usual head's buffer was not reused (cap %d)", cap(fc.respHead))
	}
}

// A client that leaves while its request waits for a bulkhead slot is
// counted client_gone, not timeout, and gets no answer.
func TestFastBulkheadWaitClientGone(t *testing.T) {
	up, arrived, release := holdingUpstream(t)
	defer close(release)
	f := attackServe(t, true, "routes:\n  - {name: api, prefix: /, upstream: '%s', bulkhead: {max_concurrent: 1, max_wait: 5s}}\n", up.URL)
	first := sendAndWait(t, addrOf(f), "GET /hold HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", arrived)
	c, err := net.Dial("tcp", addrOf(f))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /waits HTTP/1.1\r\nHost: x\r\n\r\n")
	for deadline := time.Now().Add(3 * time.Second); f.s.snapshot().Routes[0].Counts.Requests < 2; {
		if time.Now().After(deadline) {
			t.Fatal("the second request did not reach the bulkhead")
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.Close()
	var cs counts
	for deadline := time.Now().Add(3 * time.Second); cs.ClientGone == 0 && cs.Timeout == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the waiting request was not ended within 3 s of its client leaving")
		}
		time.Sleep(5 * time.Millisecond)
		cs = f.s.snapshot().Routes[0].Counts
	}
	if cs.ClientGone != 1 || cs.Timeout != 0 {
		t.Errorf("counts %+v, want one client_gone and no timeout", cs)
	}
	release <- struct{}{}
	<-first
}

// A route's timeout bounds the whole attempt, its dial included, on both
// paths (bulwarkhttp's AttemptTimeout does): a slow dial leaves the rest
// of the attempt only what remains.
func TestAttemptTimeoutCoversDial(t *testing.T) {
	u := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(250 * time.Millisecond)
		io.WriteString(w, "late")
	})
	slowDial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	for _, fast := range []bool{true, false} {
		cfg, err := ParseConfig(fmt.Appendf(nil, "routes:\n  - {name: api, prefix: /, upstream: '%s', timeout: 400ms}\n", u.URL))
		if err != nil {
			t.Fatal(err)
		}
		cfg.FastPath = fast
		s, err := New(cfg, Options{Dial: slowDial})
		if err != nil {
			t.Fatal(err)
		}
		f := serveFixture(t, s, &syncBuffer{})
		if r := f.do("GET", "/x"); r.code != http.StatusGatewayTimeout {
			t.Errorf("fast %v: %d %q, want 504: 250 ms of dial and 250 ms of answer exceed a 400 ms timeout", fast, r.code, r.body)
		}
	}
}
