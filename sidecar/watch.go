package sidecar

import (
	"time"

	"github.com/bulwark-go/bulwark/sidecar/internal/rawsock"
)

// The client watch of the fast path. net/http's server reads each client
// connection in the background while a request is served, to notice a
// client that leaves and end its request (and free its bulkhead slot). The
// fast path does not pay for that on every request: a watchdog, every
// watchEvery, peeks at the connection of each request that has waited
// watchAfter or longer (a non-blocking MSG_PEEK, which takes nothing). An
// end of file or an error means the client is gone: the request's context
// ends and its upstream exchange is cut; pipelined requests already read
// (buffered) change nothing to that, as for net/http's background read,
// which reads the socket under its buffer. Bytes mean the client sent its
// next request, as net/http's background read takes them to mean: it is
// still there.
const (
	watchAfter = 50 * time.Millisecond
	watchEvery = 50 * time.Millisecond
)

// begin marks the start of a request with context ctx.
func (c *fastConn) begin(start time.Time, ctx *requestCtx) {
	c.mu.Lock()
	c.ctx, c.gone, c.started = ctx, false, start
	c.mu.Unlock()
}

// end marks the end of the request and reports whether the client went
// away.
func (c *fastConn) end() (gone bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started, c.ctx = time.Time{}, nil
	return c.gone
}

func (c *fastConn) isGone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gone
}

// watch peeks at the connection of c's request if it has waited long
// enough and no earlier peek found its next request; called by the
// watchdog.
func (c *fastConn) watch(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone || c.rc == nil || c.started.IsZero() || now.Sub(c.started) < watchAfter {
		return
	}
	data, open := false, true
	if c.rc.Control(func(fd uintptr) { data, open = rawsock.Peek(fd) }) != nil {
		return // closed: the request ends anyway
	}
	switch {
	case data:
		c.started = time.Time{} // its next request: still there, and nothing more to learn
		return
	case open:
		return // still there, nothing sent
	}
	c.gone = true
	c.ctx.gone()
	c.cut()
}

// watchdog runs the client watch every watchEvery until shutdown starts
// (or ends the requests in flight).
func (f *fastServer) watchdog() {
	defer f.wg.Done()
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	var busy []*fastConn // reused: the connections serving a request
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-f.quit:
			return
		case now := <-t.C:
			// The peeks (a system call each) run outside f.mu, which
			// accepting and closing a connection take.
			f.mu.Lock()
			for c := range f.conns {
				if !c.idle.Load() {
					busy = append(busy, c)
				}
			}
			f.mu.Unlock()
			for i, c := range busy {
				c.watch(now) // a connection closed since: its peek fails, nothing happens
				busy[i] = nil
			}
			busy = busy[:0]
		}
	}
}
