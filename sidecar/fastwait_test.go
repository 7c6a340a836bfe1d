package sidecar

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The fast path serves a connection from inside the poller's read wait
// and waits for the next request without first trying a read (fast.go,
// serve and step). Every way a head can arrive must still be read whole and
// in order, on both paths alike: a head larger than the read buffer (read by
// blocking reads), one split across writes, requests pipelined in one write,
// one sent after the connection sat idle, bare-LF line ends.
func TestFastHeadsAcrossReads(t *testing.T) {
	paths(t, func(t *testing.T, fast bool) {
		rec := &recorder{}
		f := attackServe(t, fast, oneRoute, rec.start(t))
		c := dialProxy(t, addrOf(f), 10*time.Second)
		br := bufio.NewReader(c)
		var got []string
		exchange := func(n int, parts ...string) {
			t.Helper()
			for i, p := range parts {
				if i > 0 {
					time.Sleep(20 * time.Millisecond) // the proxy reads what came, and waits
				}
				if _, err := io.WriteString(c, p); err != nil {
					t.Fatal(err)
				}
			}
			r, err := readResponses(br, n)
			if err != nil {
				t.Fatalf("after %q: %v (read %q)", got, err, r)
			}
			got = append(got, r...)
		}
		pad := strings.Repeat("p", 6<<10)
		exchange(1, "GET /big HTTP/1.1\r\nHost: x\r\nX-Pad: "+pad+"\r\n\r\n")
		exchange(1, "GET /sp", "lit HTTP/1.1\r\nHo", "st: x\r\n", "\r\n")
		exchange(3, "GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /p2 HTTP/1.1\r\nHost: x\r\n\r\nGET /p3 HTTP/1.1\r\nHost: x\r\n\r\n")
		time.Sleep(100 * time.Millisecond) // idle: the proxy waits for the next request
		exchange(1, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
		exchange(2, "GET /big2 HTTP/1.1\r\nHost: x\r\nX-Pad: "+pad+"\r\n\r\nGET /behind HTTP/1.1\r\nHost: x\r\n\r\n")
		exchange(1, "GET /lf HTTP/1.1\nHost: x\nConnection: close\n\n")
		want := []string{`200 "/big"`, `200 "/split"`, `200 "/p1"`, `200 "/p2"`, `200 "/p3"`, `200 "/after"`,
			`200 "/big2"`, `200 "/behind"`, `200 "/lf"`}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("answers %q, want %q", got, want)
		}
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("after Connection: close the proxy left the connection open (%v)", err)
		}
	})
}

// opaqueListener hands out connections that are not sockets to the code
// that serves them (no SyscallConn).
type opaqueListener struct{ net.Listener }

type opaqueConn struct{ c net.Conn }

func (l opaqueListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return opaqueConn{c}, nil
}

func (o opaqueConn) Read(p []byte) (int, error)         { return o.c.Read(p) }
func (o opaqueConn) Write(p []byte) (int, error)        { return o.c.Write(p) }
func (o opaqueConn) Close() error                       { return o.c.Close() }
func (o opaqueConn) LocalAddr() net.Addr                { return o.c.LocalAddr() }
func (o opaqueConn) RemoteAddr() net.Addr               { return o.c.RemoteAddr() }
func (o opaqueConn) SetDeadline(t time.Time) error      { return o.c.SetDeadline(t) }
func (o opaqueConn) SetReadDeadline(t time.Time) error  { return o.c.SetReadDeadline(t) }
func (o opaqueConn) SetWriteDeadline(t time.Time) error { return o.c.SetWriteDeadline(t) }

// A listener whose connections are not sockets (Serve takes any
// net.Listener): the fast path cannot wait on them and gives them to
// net/http, which serves them.
func TestFastNonSocketConnectionServed(t *testing.T) {
	rec := &recorder{}
	addr := serveWrapped(t, rec.start(t), true, func(l net.Listener) net.Listener { return opaqueListener{l} })
	ct := &http.Transport{}
	defer ct.CloseIdleConnections()
	client := &http.Client{Transport: ct, Timeout: 5 * time.Second}
	for _, p := range []string{"/one", "/two"} {
		resp, err := client.Get("http://" + addr + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != p {
			t.Errorf("GET %s: %d %q", p, resp.StatusCode, b)
		}
	}
}
