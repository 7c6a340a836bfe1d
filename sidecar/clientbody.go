package sidecar

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// clientBody is a client's request body read under deadlines on the
// client's connection (http.ResponseController read deadlines): each Read
// must make progress within the route's client_body_timeout, and none may
// run past the request's deadline. A Read that runs out of time fails with
// os.ErrDeadlineExceeded, which the transport reports as a
// *bulwarkhttp.RequestBodyError and the proxy answers with 408. The
// deadline is lifted once the body is read or closed, so that the server's
// watch for a closed connection does not trip on it.
//
// An attempt that ends (its timeout) with the body unread expires it (see
// expireOn): net/http's Transport waits for its body writer, which would
// otherwise stay blocked reading a stalled client with no deadline.
type clientBody struct {
	rc       io.ReadCloser
	ctl      *http.ResponseController
	idle     time.Duration
	deadline time.Time // the request's; zero for none
	armed    atomic.Bool
	eof      atomic.Bool // Read has returned io.EOF
	w        http.ResponseWriter

	// continueDue: the client sent Expect: 100-continue and nothing has
	// read its body yet, so net/http would send the 100 Continue on the
	// first Read (see sendContinue). Guarded by mu.
	continueDue bool

	mu       sync.Mutex // orders deadline changes; guards the fields below
	expired  bool       // an attempt ended with the body unread: reads fail at once
	finished bool       // the handler returned
	stops    []func() bool
}

func newClientBody(rc io.ReadCloser, w http.ResponseWriter, ctl *http.ResponseController, idle time.Duration, ctx context.Context) *clientBody {
	b := &clientBody{rc: rc, ctl: ctl, idle: idle, w: w}
	b.deadline, _ = ctx.Deadline()
	return b
}

// expectContinue records that req asked for a 100 Continue that net/http
// sends on the body's first Read (HTTP/1.1, a body, Expect: 100-continue).
func (b *clientBody) expectContinue(req *http.Request) {
	b.continueDue = req.ProtoAtLeast(1, 1) && req.ContentLength != 0 &&
		strings.EqualFold(strings.TrimSpace(req.Header.Get("Expect")), "100-continue")
}

// sendContinue sends the client's 100 Continue now, if it is still due,
// from the goroutine about to send the request upstream. Left to the
// body's first Read, net/http would write it from the Transport's
// body-writing goroutine while the Transport's reading goroutine may be
// writing an upstream's 1xx (103 Early Hints) to the same connection:
// unsynchronised writes to one buffer, which can interleave the two.
func (b *clientBody) sendContinue() {
	b.mu.Lock()
	due := b.continueDue
	b.continueDue = false
	b.mu.Unlock()
	if due {
		b.w.WriteHeader(http.StatusContinue)
	}
}

func (b *clientBody) Read(p []byte) (int, error) {
	b.arm()
	n, err := b.rc.Read(p)
	if err != nil {
		if err == io.EOF {
			b.eof.Store(true)
		}
		b.disarm()
	}
	return n, err
}

// Close closes the body. net/http's server reads what is left of an
// unfinished body (up to 256 KiB) when it is closed, so that the
// connection can be reused; that reading runs under the same deadlines as
// Read, so that a client trickling its body cannot hold the goroutine that
// closes it (and the request's bulkhead slot) longer than they allow.
func (b *clientBody) Close() error {
	if !b.eof.Load() {
		b.arm()
	}
	err := b.rc.Close()
	b.disarm()
	return err
}

// finish is called when the handler returns: a body read to its end has
// its deadline lifted; an unfinished one keeps it, so that net/http's
// reading of the rest (before it reuses or closes the connection) is
// bounded too.
func (b *clientBody) finish() {
	b.mu.Lock()
	b.finished = true
	for _, stop := range b.stops {
		stop()
	}
	b.stops = nil
	b.mu.Unlock()
	if b.eof.Load() {
		b.disarm()
		return
	}
	b.arm()
}

// expireOn expires the body when ctx, an attempt's, ends before the body
// is read to its end and before the handler returns: the client's
// connection gets a read deadline of now, so that the read blocking the
// Transport's body writer fails (os.ErrDeadlineExceeded: 408) and the
// attempt returns; reads after it fail at once.
func (b *clientBody) expireOn(ctx context.Context) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished || b.eof.Load() {
		return
	}
	b.stops = append(b.stops, context.AfterFunc(ctx, b.expire))
}

func (b *clientBody) expire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished || b.eof.Load() {
		return
	}
	b.expired = true
	if err := b.ctl.SetReadDeadline(time.Now()); err == nil {
		b.armed.Store(true)
	}
}

// arm sets the read deadline of the next read: client_body_timeout from
// now, but no later than the request's deadline; now once the body has
// expired.
func (b *clientBody) arm() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.continueDue = false // read or closed: net/http has sent or dropped the 100
	d := b.deadline
	if b.expired {
		d = time.Now()
	} else if b.idle > 0 {
		if next := time.Now().Add(b.idle); d.IsZero() || next.Before(d) {
			d = next
		}
	}
	if !d.IsZero() {
		if err := b.ctl.SetReadDeadline(d); err == nil {
			b.armed.Store(true)
		}
	}
}

// disarm lifts the read deadline this body set, if any.
func (b *clientBody) disarm() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.armed.Swap(false) {
		_ = b.ctl.SetReadDeadline(time.Time{})
	}
}
