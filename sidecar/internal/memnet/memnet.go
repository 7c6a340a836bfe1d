// Package memnet is an in-memory network for tests: listeners and dialers
// over net.Pipe connections. Its blocking is on channels, so inside a
// testing/synctest bubble servers and clients on it run in virtual time.
package memnet

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// Network is an in-memory network of net.Pipe connections. Addresses
// are host:port; port 0 picks a free one. It is safe for concurrent use.
type Network struct {
	mu        sync.Mutex
	listeners map[string]*memListener
	next      int
}

// New returns an empty network.
func New() *Network { return &Network{listeners: map[string]*memListener{}} }

// Listen is net.Listen on the network.
func (n *Network) Listen(network, address string) (net.Listener, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	if port == "0" {
		n.next++
		port = fmt.Sprint(40000 + n.next)
	}
	addr := net.JoinHostPort(host, port)
	if _, busy := n.listeners[addr]; busy {
		return nil, fmt.Errorf("listen %s: address in use", addr)
	}
	l := &memListener{net: n, addr: memAddr(addr), conns: make(chan net.Conn), done: make(chan struct{})}
	n.listeners[addr] = l
	return l, nil
}

// Dial is a net.Dialer's DialContext on the network.
func (n *Network) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	n.mu.Lock()
	l := n.listeners[address]
	n.mu.Unlock()
	if l == nil {
		return nil, fmt.Errorf("dial %s: connection refused", address)
	}
	c, s := net.Pipe()
	select {
	case l.conns <- s:
		return c, nil
	case <-l.done:
		return nil, fmt.Errorf("dial %s: connection refused", address)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type memAddr string

func (a memAddr) Network() string { return "mem" }
func (a memAddr) String() string  { return string(a) }

type memListener struct {
	net   *Network
	addr  memAddr
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.net.mu.Lock()
		delete(l.net.listeners, string(l.addr))
		l.net.mu.Unlock()
	})
	return nil
}

func (l *memListener) Addr() net.Addr { return l.addr }
