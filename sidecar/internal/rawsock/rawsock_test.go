package rawsock

import (
	"bytes"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// pair returns both ends of a TCP connection on loopback.
func pair(t *testing.T) (a, b *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func fdOf(t *testing.T, nc net.Conn) uintptr {
	t.Helper()
	rc := Of(nc)
	if rc == nil {
		if supported {
			t.Fatalf("Of(%T) = nil for a bare socket", nc)
		}
		t.Skipf("rawsock does not work on %s", runtime.GOOS)
	}
	var fd uintptr
	if err := rc.Control(func(f uintptr) { fd = f }); err != nil {
		t.Fatal(err)
	}
	return fd
}

// eventually calls f until it holds, for what the kernel delivers on
// loopback a moment after the call that sent it.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !f(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestReadWritePeek(t *testing.T) {
	a, b := pair(t)
	fa, fb := fdOf(t, a), fdOf(t, b)

	buf := make([]byte, 16)
	if n, again, err := Read(fb, buf); !again || n != 0 || err != nil {
		t.Fatalf("Read of an empty socket = %d, %v, %v; want 0, again", n, again, err)
	}
	if data, open := Peek(fb); data || !open {
		t.Fatalf("Peek of an empty open socket = data %v, open %v", data, open)
	}
	if n, again, err := Write(fa, []byte("hello")); n != 5 || again || err != nil {
		t.Fatalf("Write = %d, %v, %v; want 5", n, again, err)
	}
	eventually(t, "Peek sees the bytes", func() bool { data, open := Peek(fb); return data && open })
	n, again, err := Read(fb, buf)
	if err != nil || again || !bytes.Equal(buf[:n], []byte("hello")) {
		t.Fatalf("Read = %q, %v, %v; want hello", buf[:n], again, err)
	}
	if data, _ := Peek(fb); data {
		t.Fatal("Peek took nothing, but finds bytes after Read took them all")
	}

	// The peer's close: Peek says closed, Read reads the end (0, no error).
	a.Close()
	eventually(t, "Peek sees the close", func() bool { _, open := Peek(fb); return !open })
	if n, again, err := Read(fb, buf); n != 0 || again || err != nil {
		t.Fatalf("Read after the peer closed = %d, %v, %v; want 0 (the end)", n, again, err)
	}
}

// A write to a connection the peer reset fails with an error (EPIPE or
// ECONNRESET) and does not kill the process with SIGPIPE.
func TestWriteAfterResetFails(t *testing.T) {
	a, b := pair(t)
	fb := fdOf(t, b)
	a.SetLinger(0)
	a.Close()
	var err error
	eventually(t, "a write fails", func() bool {
		_, _, err = Write(fb, []byte("x"))
		return err != nil
	})
	if err != syscall.EPIPE && err != syscall.ECONNRESET {
		t.Fatalf("Write after a reset = %v; want EPIPE or ECONNRESET", err)
	}
}

// A full socket takes part of a write, then nothing (again), never blocks.
func TestWriteNeverBlocks(t *testing.T) {
	a, _ := pair(t)
	fa := fdOf(t, a)
	chunk := make([]byte, 1<<20)
	total := 0
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatalf("wrote %d bytes nobody reads without the socket filling", total)
		}
		n, again, err := Write(fa, chunk)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if again {
			if n != 0 {
				t.Fatalf("Write reported again after taking %d bytes", n)
			}
			return
		}
	}
}

func TestOfOnlyBareSockets(t *testing.T) {
	a, _ := pair(t)
	type wrapped struct{ net.Conn }
	if Of(wrapped{a}) != nil {
		t.Fatal("Of returned a RawConn for a wrapper: its own Read and Write would be skipped")
	}
	if supported && Of(a) == nil {
		t.Fatal("Of returned nil for a *net.TCPConn")
	}
}
