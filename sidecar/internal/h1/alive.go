package h1

import (
	"net"
	"syscall"

	"github.com/bulwark-go/bulwark/sidecar/internal/rawsock"
)

// peeker finds out whether an idle connection is still open: a
// non-blocking peek at its socket (rawsock.Peek) finds neither the
// upstream's close nor bytes it should not have sent while idle.
//
// The socket's descriptor is read once, when the connection is made: the
// pool hands an idle connection to one caller at a time and only that
// caller closes it, so the descriptor cannot be closed or reused during
// the peek. A peek takes nothing, so a dialer's wrapper that exposes its
// socket (syscall.Conn) is peeked at too. Where rawsock does not peek
// (Windows, AIX), a connection the upstream closed while idle fails its
// next request, which the caller's retry policy counts.
type peeker struct {
	fd int // -1: cannot peek (not a socket)
}

func newPeeker(nc net.Conn) *peeker {
	p := &peeker{fd: -1}
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { p.fd = int(fd) })
		}
	}
	return p
}

// alive reports whether the connection is open and has nothing to read.
func (p *peeker) alive() bool {
	if p.fd < 0 {
		return true
	}
	data, open := rawsock.Peek(uintptr(p.fd))
	return open && !data
}
