package h1

import (
	"io"
	"net"
	"os"
	"syscall"

	"github.com/bulwark-go/bulwark/sidecar/internal/rawsock"
)

// sock is a connection's socket as its buffered reader and writer see it. A
// request flushed to it is held, and written by the read that follows,
// inside the runtime poller's read wait (syscall.RawConn.Read; on the
// systems package rawsock supports, for a bare socket): the write
// goes out, then the read waits for the socket to become readable before
// it tries, instead of first trying the read that could only find nothing
// (an answer cannot come before its request) and then waiting. Per request
// that is one system call fewer than net.Conn's Write and Read.
//
// Only the connection's owner writes and reads it, one request at a time;
// a deadline set on the connection bounds the read wait, and a write the
// socket cannot take at once is finished by net.Conn's Write, under the
// write deadline.
type sock struct {
	nc    net.Conn
	rc    syscall.RawConn // nil: not a bare socket, nc's Read and Write
	out   []byte          // flushed; out[off:] not yet written
	off   int
	short bool // the socket took only part of out
	// read: a read was tried since the connection was made. Until then
	// bytes may be on the socket that no readiness will announce: a
	// server that speaks first sent them before the first wait began,
	// whose start forgets the readiness they raised.
	read bool
	fn   func(fd uintptr) bool
	p    []byte // the read's buffer, for fn
	n    int
	err  error
	op   string // the system call s.err came from
}

// maxPending is the largest write buffer kept for the next request.
const maxPending = 16 << 10

func (s *sock) init(nc net.Conn) {
	s.nc = nc
	// Only a bare socket is written and read under nc (rawsock.Of): a
	// dialer's connection may write or read its own way.
	if s.rc = rawsock.Of(nc); s.rc != nil {
		s.fn = s.io // made once: a method value passed per read would allocate
	}
}

// pending reports whether flushed bytes wait for the next read to write them.
func (s *sock) pending() bool { return s.off < len(s.out) }

func (s *sock) Write(p []byte) (int, error) {
	if s.rc == nil {
		return s.nc.Write(p)
	}
	s.out = append(s.out, p...)
	return len(p), nil
}

func (s *sock) Read(p []byte) (int, error) {
	if s.rc == nil {
		return s.nc.Read(p)
	}
	s.p, s.n, s.err, s.op = p, 0, nil, "read"
	defer func() { s.p = nil }()
	for {
		if err := s.rc.Read(s.fn); err != nil {
			return 0, err // a deadline, or the connection closed
		}
		if !s.short {
			break
		}
		s.short = false
		_, err := s.nc.Write(s.out[s.off:])
		s.sent()
		if err != nil {
			return 0, err
		}
	}
	switch {
	case s.err != nil:
		return 0, os.NewSyscallError(s.op, s.err)
	case s.n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return s.n, nil
}

// io writes what is pending, then reads; it returns false to wait for the
// socket to become readable.
func (s *sock) io(fd uintptr) bool {
	if s.pending() {
		n, again, err := rawsock.Write(fd, s.out[s.off:])
		s.off += n
		switch {
		case again || err == nil && s.pending():
			s.short = true // finished by nc.Write, which waits for room
			return true
		case err != nil:
			s.sent()
			s.err, s.op = err, "write"
			return true
		}
		s.sent()
		if s.read {
			return false // the answer comes after the request: wait for it
		}
	}
	s.read = true
	n, again, err := rawsock.Read(fd, s.p)
	if again {
		return false
	}
	s.n, s.err = n, err
	return true
}

// sent forgets the bytes written, keeping the buffer unless it grew large.
func (s *sock) sent() {
	s.off = 0
	if cap(s.out) > maxPending {
		s.out = nil
		return
	}
	s.out = s.out[:0]
}
