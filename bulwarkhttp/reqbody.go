package bulwarkhttp

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"sync"
)

// RequestBodyError is the error of a round trip that failed because the
// request's own body could not be read (the client of a proxy sent a
// malformed chunked body, stalled past a read deadline, or went away). It
// is the caller's failure, not the upstream's: the breaker does not count
// the attempt and it is not retried.
type RequestBodyError struct {
	Err error // the error the body's Read returned
}

// Error returns "bulwarkhttp: reading the request body: <Err>".
func (e *RequestBodyError) Error() string {
	return "bulwarkhttp: reading the request body: " + e.Err.Error()
}

// Unwrap returns Err.
func (e *RequestBodyError) Unwrap() error { return e.Err }

// prepareBody returns the request the attempts are made from: req itself
// when it has no body; else a shallow copy whose body reports its read
// errors (as *RequestBodyError, through watchedBody), and, when buffer is
// set (the request would be retried, MaxBufferedBody allows it and it has
// no GetBody), read into memory so that it can be sent again. On error the
// body is closed.
func (t *Transport) prepareBody(req *http.Request, buffer bool) (*http.Request, error) {
	if !hasBody(req) {
		return req, nil
	}
	r := new(http.Request)
	*r = *req
	wb := &watchedBody{rc: req.Body}
	r.Body = wb
	if !buffer {
		return r, nil
	}
	limit := t.maxBuffered
	if limit > math.MaxInt64-1 {
		limit = math.MaxInt64 - 1 // limit+1 below must not overflow
	}
	var buf bytes.Buffer
	if req.ContentLength > 0 && req.ContentLength <= limit && req.ContentLength <= 1<<20 {
		buf.Grow(int(req.ContentLength))
	}
	_, err := buf.ReadFrom(io.LimitReader(wb, limit+1))
	if err != nil {
		_ = req.Body.Close()
		return nil, &RequestBodyError{Err: err}
	}
	if int64(buf.Len()) > limit {
		// Too long to keep: send what was read, then the rest, once.
		r.Body = &prefixedBody{Reader: io.MultiReader(bytes.NewReader(buf.Bytes()), wb), wb: wb}
		return r, nil
	}
	_ = req.Body.Close()
	b := buf.Bytes()
	r.ContentLength = int64(len(b))
	r.TransferEncoding = nil
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return r, nil
}

// watchedBody records the first error other than io.EOF its Read returns,
// so that a failed round trip can be told to be the body's fault.
type watchedBody struct {
	rc io.ReadCloser

	mu  sync.Mutex // Read runs on the base transport's writing goroutine
	err error
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

func (b *watchedBody) Close() error { return b.rc.Close() }

func (b *watchedBody) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// prefixedBody is a body too long to buffer: the part read, then the rest.
type prefixedBody struct {
	io.Reader
	wb *watchedBody
}

func (b *prefixedBody) Close() error { return b.wb.Close() }

// bodyFailure returns the read error of req's body, when it is one
// prepareBody made and its Read failed.
func bodyFailure(req *http.Request) error {
	switch b := req.Body.(type) {
	case *watchedBody:
		return b.failed()
	case *prefixedBody:
		return b.wb.failed()
	}
	return nil
}
