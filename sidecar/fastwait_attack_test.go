package sidecar

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Attacks on the fast path's read wait (fast.go, serve and step), which
// after answering waits for the next request without first trying a read.

// head64 is a request head of exactly 64 bytes for target /pNNNN.
func head64(t *testing.T, i int) string {
	t.Helper()
	h := fmt.Sprintf("GET /p%04d HTTP/1.1\r\nHost: x\r\nX-P: ", i)
	h += strings.Repeat("p", 64-len(h)-4) + "\r\n\r\n"
	if len(h) != 64 {
		t.Fatalf("head of %d bytes", len(h))
	}
	return h
}

// More pipelined requests than the read buffer (4 KiB) holds, in one
// write, heads of 64 bytes: a read fills the buffer exactly, at a head's
// end, with more bytes left on the socket. Once the buffered heads are
// answered, the proxy must read those bytes: no new data comes to wake a
// wait that does not try a read first.
func TestFastWaitPipelinedBeyondBuffer(t *testing.T) {
	paths(t, func(t *testing.T, fast bool) {
		rec := &recorder{}
		f := attackServe(t, fast, oneRoute, rec.start(t))
		c := dialProxy(t, addrOf(f), 5*time.Second)
		const n = 200 // 12800 bytes: three buffers and a bit
		var b strings.Builder
		for i := range n {
			b.WriteString(head64(t, i))
		}
		go io.WriteString(c, b.String()) // the client reads as it writes
		got, err := readResponses(bufio.NewReader(c), n)
		if err != nil {
			t.Fatalf("after %d answers: %v", len(got), err)
		}
		for i, g := range got {
			if want := fmt.Sprintf(`200 "/p%04d"`, i); g != want {
				t.Fatalf("answer %d: %s, want %s", i, g, want)
			}
		}
	})
}

// A head larger than the buffer (read by blocking reads, outside the wait)
// with a second request behind it in the same write, and a third sent
// while the first is held upstream: the third arrived before the wait
// began (its readiness was reset when the wait started), so after the
// second is answered from the buffer the proxy must read it.
func TestFastWaitPipelinedAfterSlowHead(t *testing.T) {
	paths(t, func(t *testing.T, fast bool) {
		up, arrived, release := holdingUpstream(t)
		f := attackServe(t, fast, oneRoute, up.URL)
		c := dialProxy(t, addrOf(f), 5*time.Second)
		pad := strings.Repeat("p", 6<<10)
		io.WriteString(c, "GET /big/hold HTTP/1.1\r\nHost: x\r\nX-Pad: "+pad+"\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n")
		select {
		case <-arrived:
		case <-time.After(3 * time.Second):
			t.Fatal("the request did not arrive")
		}
		io.WriteString(c, "GET /third HTTP/1.1\r\nHost: x\r\n\r\n")
		time.Sleep(50 * time.Millisecond) // the third on the proxy's socket before the release
		close(release)
		got, err := readResponses(bufio.NewReader(c), 3)
		if want := []string{`200 "ok"`, `200 "ok"`, `200 "ok"`}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("answers %q (%v), want %q", got, err, want)
		}
	})
}

// stuckUpstream is an upstream with a small receive buffer that accepts
// connections and reads nothing from them: a large request head fills the
// socket and the proxy's write of it is short. Each connection accepted
// comes on the channel (buffered).
func stuckUpstream(t *testing.T) (string, <-chan net.Conn) {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
		return nil
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan net.Conn, 16)
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			ch <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "http://" + ln.Addr().String(), ch
}

// smallSendBuffer dials the upstream with a send buffer of 4 KiB: a
// request head larger than the upstream reads is written short.
func smallSendBuffer(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err == nil {
		c.(*net.TCPConn).SetWriteBuffer(4 << 10)
	}
	return c, err
}

// serveOpts is attackServeCtl with opts for New.
func serveOpts(t *testing.T, fast bool, opts Options, yaml string, args ...any) (addr string, stop func(), served <-chan error) {
	t.Helper()
	cfg, err := ParseConfig(fmt.Appendf(nil, yaml, args...))
	if err != nil {
		t.Fatal(err)
	}
	cfg.FastPath = fast
	s, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	pl, al := loopbackListeners(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- s.Serve(ctx, pl, al) }()
	out := make(chan error, 1)
	var once sync.Once
	wait := func() {
		once.Do(func() {
			select {
			case err := <-ch:
				out <- err
			case <-time.After(30 * time.Second):
				out <- errors.New("Serve did not return within 30s")
			}
		})
	}
	t.Cleanup(func() { cancel(); wait() })
	return pl.Addr().String(), func() { cancel(); go wait() }, out
}

// bigHead is a fast-path request head of about 60 KiB.
var bigHead = "GET /big HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("p", 60<<10) + "\r\n\r\n"

// The upstream takes only part of a large request head and reads no
// more: the route's timeout, the client leaving, and shutdown's hard stop
// must each end the write of the rest.
func TestFastWaitUpstreamShortWrite(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		paths(t, func(t *testing.T, fast bool) {
			u, accepted := stuckUpstream(t)
			addr, _, _ := serveOpts(t, fast, Options{Dial: smallSendBuffer}, "routes:\n  - {name: api, prefix: /, upstream: '%s', timeout: 300ms}\n", u)
			c := dialProxy(t, addr, 0)
			start := time.Now()
			c.SetDeadline(start.Add(3 * time.Second))
			go io.WriteString(c, bigHead)
			got, err := readResponses(bufio.NewReader(c), 1)
			if len(got) != 1 || !strings.HasPrefix(got[0], "504 ") || time.Since(start) > 2*time.Second {
				t.Errorf("answers %q (%v) after %v, want a 504 after the timeout (300ms)", got, err, time.Since(start))
			}
			select {
			case <-accepted:
			default:
				t.Error("the upstream never saw the request")
			}
		})
	})
	t.Run("client gone", func(t *testing.T) {
		paths(t, func(t *testing.T, fast bool) {
			u, accepted := stuckUpstream(t)
			addr, _, _ := serveOpts(t, fast, Options{Dial: smallSendBuffer}, oneRoute, u)
			c := dialProxy(t, addr, 5*time.Second)
			go io.WriteString(c, bigHead)
			var uc net.Conn
			select {
			case uc = <-accepted:
			case <-time.After(3 * time.Second):
				t.Fatal("the request did not reach the upstream")
			}
			time.Sleep(100 * time.Millisecond) // the proxy's write is stuck
			c.Close()
			// The proxy must give up the write and close the upstream
			// connection: reading it finds its end, not a deadline.
			uc.SetReadDeadline(time.Now().Add(3 * time.Second))
			_, err := io.Copy(io.Discard, uc)
			if err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("upstream connection after the client left: %v, want it closed", err)
			}
		})
	})
	t.Run("shutdown", func(t *testing.T) {
		paths(t, func(t *testing.T, fast bool) {
			u, accepted := stuckUpstream(t)
			addr, stop, served := serveOpts(t, fast, Options{Dial: smallSendBuffer}, "shutdown_timeout: 300ms\nroutes:\n  - {name: api, prefix: /, upstream: '%s'}\n", u)
			inflight := sendAndWait(t, addr, bigHead, accepted)
			time.Sleep(100 * time.Millisecond) // the proxy's write is stuck
			start := time.Now()
			stop()
			got := <-inflight
			if d := time.Since(start); d > 300*time.Millisecond+drainGrace+time.Second {
				t.Errorf("in flight past shutdown_timeout: %q after %v", got, d)
			}
			expectForcedStop(t, served)
		})
	})
}

// An upstream that answers as soon as it accepts a connection, before the
// request reaches it, and holds the connection open: the answer is on the
// proxy's socket before the proxy's read wait starts (the dial below
// returns once it is). The proxy must read it, not wait for readiness that
// came before the wait.
func TestFastWaitUpstreamAnswersFirst(t *testing.T) {
	u := rawUpstream(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly")
		io.Copy(io.Discard, c)
	})
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		rc, _ := c.(*net.TCPConn).SyscallConn()
		var b [1]byte
		rc.Read(func(fd uintptr) bool {
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			return err != syscall.EAGAIN
		})
		c.SetReadDeadline(time.Time{})
		return c, nil
	}
	paths(t, func(t *testing.T, fast bool) {
		addr, _, _ := serveOpts(t, fast, Options{Dial: dial}, oneRoute, u)
		c := dialProxy(t, addr, 3*time.Second)
		io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
		got, err := readResponses(bufio.NewReader(c), 1)
		if want := []string{`200 "early"`}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("answers %q (%v), want %q", got, err, want)
		}
	})
}

// preambleListener hands out connections that are sockets underneath
// (they embed *net.TCPConn, SyscallConn and all) but read otherwise: each
// strips a first line (a preamble, as the PROXY protocol's) before the
// client's bytes.
type preambleListener struct{ net.Listener }

type preambleConn struct {
	*net.TCPConn
	br *bufio.Reader
}

func (l preambleListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	return &preambleConn{TCPConn: tc, br: bufio.NewReader(tc)}, nil
}

func (c *preambleConn) Read(p []byte) (int, error) {
	if c.br == nil {
		return c.TCPConn.Read(p)
	}
	if _, err := c.br.ReadString('\n'); err != nil {
		return 0, err
	}
	n, err := c.br.Read(p) // what the line's read brought after it, if any
	if c.br.Buffered() == 0 {
		c.br = nil
	}
	return n, err
}

// A connection whose Read is not its socket's (a listener wrapper that
// embeds *net.TCPConn): the fast path must read it through Read, or hand
// it to net/http, not read the socket under it.
func TestFastWaitWrappedConnReadThroughRead(t *testing.T) {
	rec := &recorder{}
	u := rec.start(t)
	for _, fast := range []bool{true, false} {
		t.Run(fmt.Sprint("fast=", fast), func(t *testing.T) {
			addr := serveWrapped(t, u, fast, func(l net.Listener) net.Listener { return preambleListener{l} })
			c := dialProxy(t, addr, 3*time.Second)
			io.WriteString(c, "PREAMBLE 1.2.3.4\r\nGET /x HTTP/1.1\r\nHost: x\r\n\r\n")
			got, err := readResponses(bufio.NewReader(c), 1)
			if want := []string{`200 "/x"`}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("answers %q (%v), want %q", got, err, want)
			}
		})
	}
}

// Shutdown past its timeout with connections in every state: one whose
// request waits upstream and one whose goroutine is stuck writing an
// answer its client does not read (both inside the read wait's callback,
// which a Close waits for), one idle, one with half a head. Serve returns
// within shutdown_timeout and the drain grace, and every connection ends.
func TestFastWaitHardStopEveryState(t *testing.T) {
	chunk := strings.Repeat("z", 64<<10)
	hold := make(chan struct{})
	defer close(hold)
	held := make(chan struct{}, 1)
	u := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hold":
			held <- struct{}{}
			select {
			case <-hold:
			case <-r.Context().Done():
			}
		case "/big":
			for range 1024 {
				if _, err := io.WriteString(w, chunk); err != nil {
					return
				}
			}
		}
		io.WriteString(w, "ok")
	})
	paths(t, func(t *testing.T, fast bool) {
		addr, stop, served := attackServeCtl(t, fast, "shutdown_timeout: 300ms\nroutes:\n  - {name: api, prefix: /, upstream: '%s'}\n", u.URL)
		dial := func(payload string) net.Conn {
			c := dialProxy(t, addr, 8*time.Second)
			io.WriteString(c, payload)
			return c
		}
		idle := dial("GET /warm HTTP/1.1\r\nHost: x\r\n\r\n")
		if got, err := readResponses(bufio.NewReader(idle), 1); err != nil {
			t.Fatalf("warm-up: %q %v", got, err)
		}
		held1 := dial("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
		select {
		case <-held:
		case <-time.After(3 * time.Second):
			t.Fatal("the request did not arrive")
		}
		big := dial("GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
		big.(*net.TCPConn).SetReadBuffer(4 << 10)
		half := dial("GET /half HTTP/1.1\r\nHo")
		time.Sleep(200 * time.Millisecond) // the big answer fills the sockets; the half head is read
		start := time.Now()
		stop()
		select {
		case <-served:
		case <-time.After(300*time.Millisecond + drainGrace + 3*time.Second):
			t.Fatal("Serve did not return")
		}
		if d := time.Since(start); d > 300*time.Millisecond+drainGrace+time.Second {
			t.Errorf("Serve returned after %v", d)
		}
		// (The big answer's connection is closed with bytes still queued
		// to its client, which the kernel sends on after the close: its end
		// is not seen within a bound, on either path.)
		for name, c := range map[string]net.Conn{"idle": idle, "held": held1, "half": half} {
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, err := io.Copy(io.Discard, c)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("%s connection still open after Serve returned (%d bytes read)", name, n)
			}
		}
	})
}

// Many pipelined requests across several buffers, one in the middle with
// a body (net/http's from then on): every answer comes back, in order.
func TestFastWaitPipelinedHandOffBeyondBuffer(t *testing.T) {
	paths(t, func(t *testing.T, fast bool) {
		rec := &recorder{}
		f := attackServe(t, fast, oneRoute, rec.start(t))
		c := dialProxy(t, addrOf(f), 5*time.Second)
		var b strings.Builder
		var want []string
		for i := range 150 {
			if i == 90 {
				b.WriteString("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
				want = append(want, `200 "/bodyabc"`)
			}
			b.WriteString(head64(t, i))
			want = append(want, fmt.Sprintf(`200 "/p%04d"`, i))
		}
		go io.WriteString(c, b.String())
		expectAnswers(t, c, want)
	})
}

// A request whose head is larger than the buffer (read by blocking reads,
// under the head's timeout) and whose answer takes longer than that
// timeout: the connection stays open for the request pipelined behind it,
// as on net/http, instead of ending on the head's deadline, expired by
// the time the next wait starts.
func TestFastWaitSlowHeadLongRequest(t *testing.T) {
	paths(t, func(t *testing.T, fast bool) {
		up, arrived, release := holdingUpstream(t)
		s := attackServer(t, fast, oneRoute, up.URL)
		s.readHeaderTimeout = shortHeaderTimeout
		f := serveFixture(t, s, &syncBuffer{})
		c := dialProxy(t, addrOf(f), shortHeaderTimeout+5*time.Second)
		pad := strings.Repeat("p", 6<<10)
		io.WriteString(c, "GET /big/hold HTTP/1.1\r\nHost: x\r\nX-Pad: "+pad+"\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
		select {
		case <-arrived:
		case <-time.After(3 * time.Second):
			t.Fatal("the request did not arrive")
		}
		time.Sleep(shortHeaderTimeout + 500*time.Millisecond) // the request outlasts the head's deadline (a real socket's)
		close(release)
		got, err := readResponses(bufio.NewReader(c), 2)
		if want := []string{`200 "ok"`, `200 "ok"`}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("answers %q (%v), want %q", got, err, want)
		}
	})
}

// A client that sends two requests in one write and leaves while the
// first waits upstream: the second is buffered, not on the socket, so
// the socket's end says the client left. The first request ends within
// about 100 ms (freeing its upstream and bulkhead slot), as on net/http,
// instead of waiting for the upstream's answer nobody reads.
func TestFastWaitClientGoneWithPipelinedBuffered(t *testing.T) {
	paths(t, func(t *testing.T, fast bool) {
		arrived := make(chan struct{}, 4)
		canceled := make(chan struct{}, 4)
		u := upstream(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/hold" {
				io.WriteString(w, "ok")
				return
			}
			arrived <- struct{}{}
			select {
			case <-r.Context().Done():
				canceled <- struct{}{}
			case <-time.After(5 * time.Second):
			}
		})
		f := attackServe(t, fast, oneRoute, u.URL)
		c := dialProxy(t, addrOf(f), 0)
		io.WriteString(c, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
		select {
		case <-arrived:
		case <-time.After(3 * time.Second):
			t.Fatal("the request did not arrive")
		}
		c.Close()
		select {
		case <-canceled:
		case <-time.After(2 * time.Second):
			t.Error("the client left, and its request still waits upstream after 2s")
		}
	})
}

// Pipelined heads of every size in one stream, written in pieces of
// varying length: ones that straddle the buffer's end, ones larger than
// the buffer (blocking reads in the middle of the stream), bare-LF ones.
// Every answer comes back, in order.
func TestFastWaitPipelinedMixedSizes(t *testing.T) {
	paths(t, func(t *testing.T, fast bool) {
		rec := &recorder{}
		f := attackServe(t, fast, oneRoute, rec.start(t))
		c := dialProxy(t, addrOf(f), 8*time.Second)
		var b strings.Builder
		var want []string
		for i := range 240 {
			pad := strings.Repeat("q", (i*337)%1500)
			if i%40 == 7 {
				pad = strings.Repeat("Q", 5000+i)
			}
			eol := "\r\n"
			if i%9 == 4 {
				eol = "\n"
			}
			fmt.Fprintf(&b, "GET /m%03d HTTP/1.1%sHost: x%sX-Pad: %s%s%s", i, eol, eol, pad, eol, eol)
			want = append(want, fmt.Sprintf(`200 "/m%03d"`, i))
		}
		stream := b.String()
		go func() {
			for i, n := 0, 0; n < len(stream); i++ {
				k := min(len(stream)-n, 1+(i*7919)%9000)
				if _, err := io.WriteString(c, stream[n:n+k]); err != nil {
					return
				}
				n += k
			}
		}()
		expectAnswers(t, c, want)
	})
}

// The client leaves while the upstream connection is being dialled, and
// the dial completes all the same (it finished as the request's context
// ended): the request must not go on to the upstream and wait for its
// answer, as on net/http's path (h1's RoundTrip aborts a connection whose
// context has ended).
func TestFastWaitClientGoneDuringDial(t *testing.T) {
	paths(t, func(t *testing.T, fast bool) {
		arrived := make(chan struct{}, 4)
		canceled := make(chan struct{}, 4)
		u := upstream(t, func(w http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			select {
			case <-r.Context().Done():
				canceled <- struct{}{}
			case <-time.After(5 * time.Second):
			}
		})
		dialing := make(chan struct{}, 1)
		proceed := make(chan struct{})
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).Dial(network, addr)
			dialing <- struct{}{}
			<-proceed // until the client has left: the dial ignores ctx
			return c, err
		}
		addr, _, _ := serveOpts(t, fast, Options{Dial: dial}, oneRoute, u.URL)
		c := dialProxy(t, addr, 0)
		io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
		select {
		case <-dialing:
		case <-time.After(3 * time.Second):
			t.Fatal("no dial")
		}
		c.Close()
		time.Sleep(watchAfter + 4*watchEvery) // the watch finds the client gone
		close(proceed)
		// Only arrived here: with canceled too, a select could take the
		// cancel when both are in (a quick cut), and the wait for it
		// below would then wait for a second one.
		select {
		case <-arrived:
		case <-time.After(time.Second):
			return // not sent at all: fine
		}
		select {
		case <-canceled:
		case <-time.After(2 * time.Second):
			t.Error("the client left during the dial, and its request still waits upstream after 2s")
		}
	})
}

// preambleDialConn is an upstream connection of Options.Dial's that
// embeds its socket but writes otherwise: a preamble line before the
// first bytes (as a PROXY protocol header).
type preambleDialConn struct {
	*net.TCPConn
	sent bool
}

func (c *preambleDialConn) Write(p []byte) (int, error) {
	if !c.sent {
		c.sent = true
		if _, err := c.TCPConn.Write([]byte("PREAMBLE\r\n")); err != nil {
			return 0, err
		}
	}
	return c.TCPConn.Write(p)
}

// An Options.Dial whose connections embed their socket (SyscallConn and
// all) but write through their own Write: the pool must write them
// through Write, not the socket under it.
func TestFastWaitWrappedUpstreamConnWrittenThroughWrite(t *testing.T) {
	u := rawUpstream(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if line, err := br.ReadString('\n'); err != nil || line != "PREAMBLE\r\n" {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nno preamble")
			return
		}
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(req.RequestURI), req.RequestURI)
		}
	})
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &preambleDialConn{TCPConn: c.(*net.TCPConn)}, nil
	}
	paths(t, func(t *testing.T, fast bool) {
		addr, _, _ := serveOpts(t, fast, Options{Dial: dial}, oneRoute, u)
		c := dialProxy(t, addr, 3*time.Second)
		io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\nGET /y HTTP/1.1\r\nHost: x\r\n\r\n")
		got, err := readResponses(bufio.NewReader(c), 2)
		if want := []string{`200 "/x"`, `200 "/y"`}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("answers %q (%v), want %q", got, err, want)
		}
	})
}

// expectAnswers reads len(want) answers from c and compares them with want.
func expectAnswers(t *testing.T, c net.Conn, want []string) {
	t.Helper()
	got, err := readResponses(bufio.NewReader(c), len(want))
	if err != nil {
		t.Fatalf("after %d answers: %v", len(got), err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("answers %q, want %q", got, want)
	}
}
