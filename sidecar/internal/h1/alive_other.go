//go:build !unix || aix

package h1

import "net"

// peeker does not peek here (written for the Unix systems with
// MSG_DONTWAIT, which AIX lacks): a connection the upstream closed
// while idle fails its next request, which the caller's retry policy
// counts.
type peeker struct{}

func newPeeker(net.Conn) *peeker { return &peeker{} }

func (*peeker) alive() bool { return true }
