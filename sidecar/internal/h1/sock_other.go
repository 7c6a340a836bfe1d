//go:build !unix

package h1

import "net"

// sock is the connection itself here: flushed requests are written at
// once, reads go through net.Conn.
type sock struct{ nc net.Conn }

func (s *sock) init(nc net.Conn)            { s.nc = nc }
func (s *sock) pending() bool               { return false }
func (s *sock) Write(p []byte) (int, error) { return s.nc.Write(p) }
func (s *sock) Read(p []byte) (int, error)  { return s.nc.Read(p) }
