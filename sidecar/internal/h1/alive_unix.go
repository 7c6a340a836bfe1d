//go:build unix && !aix && !linux

package h1

import (
	"net"
	"syscall"
)

// peeker finds out whether an idle connection is still open: a
// non-blocking peek at its socket finds neither the upstream's close nor
// bytes it should not have sent while idle. It is made once per
// connection, so that a peek allocates nothing.
type peeker struct {
	rc   syscall.RawConn // nil: cannot peek (not a socket)
	open bool
	buf  [1]byte
	fn   func(fd uintptr) bool
}

func newPeeker(nc net.Conn) *peeker {
	p := &peeker{}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return p
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return p
	}
	p.rc = rc
	p.fn = func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		p.open = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true
	}
	return p
}

// alive reports whether the connection is open and has nothing to read.
func (p *peeker) alive() bool {
	if p.rc == nil {
		return true
	}
	p.open = false
	return p.rc.Read(p.fn) == nil && p.open
}
