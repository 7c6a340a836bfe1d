package rawsock

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

// Attacks on rawsock's calls with descriptors that are not what the fast
// path makes itself: a socket in blocking mode, and zero-length buffers.

// childEnv names the scenario TestAttackBlockingChild runs, in a process of
// its own: a call that blocks outside the scheduler's view stops the whole
// process at its next garbage collection, test timers and all, so only
// another process can see that and report it.
const childEnv = "RAWSOCK_ATTACK_CHILD"

// makeBlocking puts nc's socket in blocking mode as older code that sets a
// socket option does: File, then Fd (which makes the duplicate blocking, and
// with it the socket, whose open file description they share).
func makeBlocking(t *testing.T, nc *net.TCPConn) {
	t.Helper()
	f, err := nc.File()
	if err != nil {
		t.Fatal(err)
	}
	f.Fd()
	f.Close()
}

// A socket in blocking mode (net.Conn still works on one, tying up a
// thread per blocking call): Read of an empty socket, Write to a full one
// and Peek must still return at once, and the process must still collect
// garbage meanwhile. A raw system call that blocks holds its thread and
// processor without the scheduler knowing: the next stop-the-world waits
// for it, as long as the peer sends nothing (or reads nothing).
func TestAttackBlockingDescriptor(t *testing.T) {
	for _, scenario := range []string{"read", "write", "peek"} {
		t.Run(scenario, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestAttackBlockingChild$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"="+scenario)
			cmd.WaitDelay = 5 * time.Second
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("the process hung (killed after 15 s):\n%s", out)
			}
			if err != nil || !bytes.Contains(out, []byte("--- PASS: TestAttackBlockingChild")) {
				t.Fatalf("%v:\n%s", err, out)
			}
		})
	}
}

// TestAttackBlockingChild is TestAttackBlockingDescriptor's process.
func TestAttackBlockingChild(t *testing.T) {
	scenario := os.Getenv(childEnv)
	if scenario == "" {
		t.Skip("run by TestAttackBlockingDescriptor")
	}
	a, b := pair(t)
	fb := fdOf(t, b)
	if scenario == "write" {
		// Buffers of a set size (no autotuning) that nobody reads:
		// once full they stay full.
		a.SetReadBuffer(4 << 10)
		b.SetWriteBuffer(4 << 10)
		fill(t, fb)
	}
	makeBlocking(t, b)
	type result struct {
		n           int
		again, open bool
		err         error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		switch scenario {
		case "read":
			r.n, r.again, r.err = Read(fb, make([]byte, 16))
		case "write":
			r.n, r.again, r.err = Write(fb, make([]byte, 1<<20))
		case "peek":
			var data bool
			data, r.open = Peek(fb)
			r.again = !data
		}
		done <- r
	}()
	for range 20 {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	select {
	case r := <-done:
		if r.n != 0 || !r.again || r.err != nil || scenario == "peek" && !r.open {
			t.Fatalf("%s on a blocking socket = %+v; want nothing, at once", scenario, r)
		}
	case <-time.After(5 * time.Second):
		a.Write([]byte("x")) // the read's peer: let it end
		t.Fatalf("%s on a blocking socket still blocked after 5 s", scenario)
	}
}

// fill writes to fd until its socket takes nothing more.
func fill(t *testing.T, fd uintptr) {
	t.Helper()
	chunk := make([]byte, 1<<20)
	for range 1000 {
		_, again, err := Write(fd, chunk)
		if err != nil {
			t.Fatal(err)
		}
		if again {
			return
		}
	}
	t.Fatal("the socket never filled")
}

// A zero-length write takes nothing and fails nothing (bufio never makes
// one, but a caller's Write may pass an empty slice through).
func TestAttackZeroLength(t *testing.T) {
	a, b := pair(t)
	fa, fb := fdOf(t, a), fdOf(t, b)
	if n, again, err := Write(fa, nil); n != 0 || err != nil {
		t.Fatalf("Write(nil) = %d, %v, %v", n, again, err)
	}
	if n, again, err := Write(fa, []byte("ab")); n != 2 || again || err != nil {
		t.Fatalf("Write = %d, %v, %v", n, again, err)
	}
	eventually(t, "Peek sees the bytes", func() bool { data, _ := Peek(fb); return data })
	buf := make([]byte, 4)
	n, _, err := Read(fb, buf)
	if err != nil || string(buf[:n]) != "ab" {
		t.Fatalf("Read = %q, %v; want ab (the empty write sent nothing)", buf[:n], err)
	}
}

// A descriptor that is no socket (the peer of a pipe, as a dialer's
// wrapper might expose): Peek reports it closed rather than open and
// empty, so h1's pool drops the connection instead of trusting it.
func TestAttackNotASocket(t *testing.T) {
	if !supported {
		t.Skipf("rawsock does not work on %s", runtime.GOOS)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	rc, err := r.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) {
		if _, open := Peek(fd); open {
			t.Error("Peek of a pipe: open; want not (no socket to peek at)")
		}
	})
}
