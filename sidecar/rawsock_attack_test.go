package sidecar

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

// Attacks on the fast path's raw socket calls (internal/rawsock): the
// answer written inside the read wait, on sockets the proxy did not make
// non-blocking itself.

// rawsockChildEnv is set in the process TestRawsockAttackBlockingListener
// starts: a raw system call that blocks stops the whole process at its next
// garbage collection, test timers and all, so only another process can see
// that and report it.
const rawsockChildEnv = "BULWARK_RAWSOCK_ATTACK_CHILD"

// blockingListener hands out its connections' sockets in blocking mode, as
// a listener wrapper does that sets a socket option through File and Fd
// (Fd makes the duplicate blocking, and with it the socket, whose open
// file description they share); the connection is still a bare
// *net.TCPConn, which the fast path reads and writes by raw system calls.
type blockingListener struct{ net.Listener }

func (l blockingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if f, err := nc.(*net.TCPConn).File(); err == nil {
		f.Fd()
		f.Close()
	}
	return nc, nil
}

// A client that connects and sends nothing, and one that sends part of a
// head, on a proxy whose listener hands out blocking sockets: other
// clients are still served, and the process still collects garbage. A
// read in the fast path's wait that blocked on such a socket would hold
// its thread and processor outside the scheduler's view, and the next
// stop-the-world would stop the whole sidecar until those clients send.
func TestRawsockAttackBlockingListener(t *testing.T) {
	if os.Getenv(rawsockChildEnv) != "" {
		blockingListenerChild(t)
		return
	}
	if runtime.GOOS == "windows" {
		t.Skip("no File and Fd blocking mode to attack with")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRawsockAttackBlockingListener$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), rawsockChildEnv+"=1")
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the sidecar hung (killed after 20 s):\n%s", out)
	}
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestRawsockAttackBlockingListener")) {
		t.Fatalf("%v:\n%s", err, out)
	}
}

func blockingListenerChild(t *testing.T) {
	rec := &recorder{}
	addr := serveWrapped(t, rec.start(t), true, func(l net.Listener) net.Listener { return blockingListener{l} })
	for _, sends := range []string{"", "GET /part HTTP/1.1\r\nHost: x\r\n"} {
		c := dialProxy(t, addr, 0)
		io.WriteString(c, sends)
	}
	for range 20 { // while the proxy waits on those two
		runtime.GC()
		time.Sleep(2 * time.Millisecond)
	}
	got, end := rawExchange(t, addr, "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", nil, 5*time.Second)
	if len(got) != 1 || got[0] != `200 "/ok"` {
		t.Fatalf("another client: %q ended by %s; want 200 \"/ok\"", got, end)
	}
}

// bigBody is the body bigUpstream sends for /big: larger than loopback's
// socket buffers, so the proxy's answer does not fit the client's socket.
var bigBody = bytes.Repeat([]byte("0123456789abcdef"), 256<<10) // 4 MiB

// bigUpstream answers /big with bigBody, flushed in 64 KiB pieces (chunked
// on the wire), and anything else with its path.
func bigUpstream(t *testing.T) string {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/big" {
			io.WriteString(w, r.URL.Path)
			return
		}
		for b := bigBody; len(b) > 0 && r.Context().Err() == nil; b = b[64<<10:] {
			w.Write(b[:64<<10])
			w.(http.Flusher).Flush()
		}
	})
	return up.URL
}

// A chunked answer far larger than the socket buffers, to a client that
// reads it late (the proxy's write finds the socket full: the part the raw
// write does not take goes through the connection's Write, which waits for
// room) and that pipelined a second request behind it: both answers come
// whole and in order.
func TestRawsockAttackLargeAnswerPipelined(t *testing.T) {
	paths(t, func(t *testing.T, fast bool) {
		f := attackServe(t, fast, oneRoute, bigUpstream(t))
		c := dialProxy(t, addrOf(f), 10*time.Second)
		io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /small HTTP/1.1\r\nHost: x\r\n\r\n")
		time.Sleep(100 * time.Millisecond) // the proxy fills the socket and waits for room
		br := bufio.NewReader(c)
		for i, want := range [][]byte{bigBody, []byte("/small")} {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("answer %d: %v", i, err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || !bytes.Equal(b, want) {
				t.Fatalf("answer %d: %d, %d bytes (want %d), %v", i, resp.StatusCode, len(b), len(want), err)
			}
		}
	})
}

// A client that resets its connection while a large answer is written to
// it: the proxy's write fails (EPIPE or ECONNRESET, no SIGPIPE), the
// upstream connection cut mid-body is not pooled, and the next client's
// request is answered by its own response.
func TestRawsockAttackClientResetsMidAnswer(t *testing.T) {
	paths(t, func(t *testing.T, fast bool) {
		f := attackServe(t, fast, oneRoute, bigUpstream(t))
		for range 3 {
			c, err := net.Dial("tcp", addrOf(f))
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
			if _, err := io.ReadFull(c, make([]byte, 64<<10)); err != nil {
				t.Fatalf("the answer's start: %v", err)
			}
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
			got, end := rawExchange(t, addrOf(f), "GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", nil, 5*time.Second)
			if len(got) != 1 || got[0] != `200 "/small"` {
				t.Fatalf("next client: %q ended by %s; want 200 \"/small\"", got, end)
			}
		}
	})
}
