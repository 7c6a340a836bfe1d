//go:build linux

package h1

import (
	"net"
	"syscall"
	"unsafe"
)

// peeker finds out whether an idle connection is still open: a
// non-blocking peek at its socket finds neither the upstream's close nor
// bytes it should not have sent while idle.
//
// On Linux the peek is one raw recvfrom on the socket's descriptor, read
// once when the connection is made: the pool hands an idle connection to
// one caller at a time and only that caller closes it, so the descriptor
// cannot be closed or reused during the peek, and a call that never blocks
// needs neither the runtime's poller nor the scheduler's hand-off.
type peeker struct {
	fd  int // -1: cannot peek (not a socket)
	buf [1]byte
}

func newPeeker(nc net.Conn) *peeker {
	p := &peeker{fd: -1}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return p
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return p
	}
	rc.Control(func(fd uintptr) { p.fd = int(fd) })
	return p
}

// alive reports whether the connection is open and has nothing to read.
func (p *peeker) alive() bool {
	if p.fd < 0 {
		return true
	}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(p.fd), uintptr(unsafe.Pointer(&p.buf[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	return errno == syscall.EAGAIN
}
