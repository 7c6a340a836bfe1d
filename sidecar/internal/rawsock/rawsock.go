// Package rawsock does the sidecar's non-blocking system calls on a bare
// socket's descriptor, for code that runs inside the runtime poller's wait
// (syscall.RawConn's Read and Control): the fast path's client reads and
// client watch, and the upstream pool's writes and reads. On the Unix
// systems it supports, Of returns the socket's RawConn; elsewhere (Windows,
// AIX) it returns nil and callers use net.Conn's own Read and Write.
package rawsock

import (
	"net"
	"syscall"
)

// Of returns nc's RawConn when nc is a bare socket (*net.TCPConn or
// *net.UnixConn) on a supported system, and nil otherwise: a wrapper that
// embeds a socket (SyscallConn and all) may read or write its own way (a
// preamble, TLS, bytes counted) and must be used through its methods.
func Of(nc net.Conn) syscall.RawConn {
	if !supported {
		return nil
	}
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return nil
	}
	rc, err := nc.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}
