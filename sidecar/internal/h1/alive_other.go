//go:build !unix || aix

package h1

import "net"

// peeker cannot peek at a socket here (no MSG_DONTWAIT on AIX, no
// sockets of this kind elsewhere): a connection the upstream closed
// while idle fails its next request, which the caller's retry policy
// counts.
type peeker struct{}

func newPeeker(net.Conn) *peeker { return &peeker{} }

func (*peeker) alive() bool { return true }
