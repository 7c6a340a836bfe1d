package bulwarkhttp

import (
	"io"
	"net/http"
	"strings"
)

// seal makes r, a copy about to be sent, one that net/http's Transport will
// not send a second time on its own.
//
// After a failure on a reused keep-alive connection, http.Transport resends
// a request on another connection, without telling its caller, whenever the
// request is "replayable": its body is nil or http.NoBody or it has
// GetBody, and its method is GET, HEAD, OPTIONS or TRACE or it carries an
// Idempotency-Key or X-Idempotency-Key header. Against an upstream that
// resets its connections, one attempt then reaches it once per idle
// connection in the pool (67 times with 64 of them), unseen by the retry
// policy, the breaker and the budget. A request whose body is set and that
// has no GetBody is not replayable, so seal drops GetBody (the transport
// makes every attempt's body itself) and gives a request without a body an
// empty one. Its TransferEncoding "identity" keeps that body off the wire:
// no "Transfer-Encoding: chunked" header, no empty chunk, and no goroutine
// probing the body (net/http probes a body of unknown length on a GET);
// being an in-memory reader, it costs no extra write either.
//
// The rule holds for any base transport built on net/http's, and for those
// that do not replay at all; a base that replays by rules of its own is not
// covered.
func seal(r *http.Request) {
	r.GetBody = nil
	if !hasBody(r) {
		// A NopCloser'd *strings.Reader is a body net/http knows to be in
		// memory: it writes the headers and the (empty) body in one
		// write, instead of flushing the headers first. Its state is
		// written to even when empty, so each request gets its own.
		r.Body = io.NopCloser(new(strings.Reader))
		r.ContentLength = 0
		if len(r.TransferEncoding) == 0 {
			r.TransferEncoding = identity
		}
	}
}

// identity is the TransferEncoding of a sealed request without a body;
// net/http only reads it.
var identity = []string{"identity"}
