package sidecar

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
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
		c, err := net.Dial("tcp", addrOf(f))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
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
		c, err := net.Dial("tcp", addrOf(f))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
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
