package sidecar

import (
	"errors"
	"net"
	"os"
	"time"
)

// The client watch of the fast path. net/http's server reads each client
// connection in the background while a request is served, to notice a
// client that leaves and end its request (and free its bulkhead slot). The
// fast path does not pay for that read on every request: a watchdog, every
// watchEvery, starts one for each request that has waited watchAfter or
// longer, with no pipelined bytes buffered. The read takes one byte; a byte
// is the next pipelined request's first and is kept for it (pendingReader);
// an end of file or an error means the client is gone: the request's
// context ends and its upstream exchange is cut.
const (
	watchAfter = 50 * time.Millisecond
	watchEvery = 50 * time.Millisecond
)

// pendingReader reads a byte read ahead by a watch, then the connection.
type pendingReader struct {
	nc      net.Conn
	pending []byte
	buf     [1]byte
}

func (r *pendingReader) Read(p []byte) (int, error) {
	if len(r.pending) > 0 {
		n := copy(p, r.pending)
		r.pending = r.pending[n:]
		return n, nil
	}
	return r.nc.Read(p)
}

// begin marks the start of a request with context ctx.
func (c *fastConn) begin(start time.Time, ctx *requestCtx) {
	buffered := c.br.Buffered() > 0
	c.mu.Lock()
	c.ctx, c.gone = ctx, false
	if !buffered { // with pipelined bytes buffered, nothing to watch for
		c.started = start
	}
	c.mu.Unlock()
}

// end marks the end of the request, stops its watch if one runs (the byte
// it read, if any, stays for the next request) and reports whether the
// client went away.
func (c *fastConn) end() (gone bool) {
	c.mu.Lock()
	c.started, c.ctx = time.Time{}, nil
	watching := c.watching
	if watching {
		c.nc.SetReadDeadline(aLongTimeAgo)
	}
	c.mu.Unlock()
	if watching {
		<-c.watched
		c.rdl = aLongTimeAgo // the next read sets its own
	}
	return c.isGone()
}

func (c *fastConn) isGone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gone
}

// watch starts the client watch of c's request if it has waited long
// enough, none runs and no earlier watch read a byte of the next request
// (another would read over it); called by the watchdog with f.mu held.
func (c *fastConn) watch(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watching || c.started.IsZero() || now.Sub(c.started) < watchAfter || len(c.src.pending) > 0 {
		return
	}
	c.watching = true
	c.watched = make(chan struct{})
	c.nc.SetReadDeadline(time.Time{}) // under mu: before end's, if any
	go c.watchRead()
}

func (c *fastConn) watchRead() {
	n, err := c.nc.Read(c.src.buf[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watching = false
	switch {
	case n == 1:
		c.src.pending = c.src.buf[:1]
	case errors.Is(err, os.ErrDeadlineExceeded):
		// end stopped the watch: the request is over.
	case c.ctx != nil:
		c.gone = true
		c.ctx.gone()
		if c.up != nil {
			c.up.SetDeadline(aLongTimeAgo)
		}
	}
	close(c.watched)
}

// watchdog starts the client watches until shutdown starts (or ends the
// requests in flight).
func (f *fastServer) watchdog() {
	defer f.wg.Done()
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-f.quit:
			return
		case now := <-t.C:
			f.mu.Lock()
			for c := range f.conns {
				if !c.idle.Load() {
					c.watch(now)
				}
			}
			f.mu.Unlock()
		}
	}
}
