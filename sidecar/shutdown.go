package sidecar

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

// drainGrace bounds how long the proxy waits, once shutdown_timeout has
// passed, for the requests it ended to be answered.
const drainGrace = time.Second

// drainHandler answers for h once hard is done: a request h is still
// serving then (its context ended with hard) gets 503 with Connection:
// close and X-Bulwark-Reason: shutdown, unless h had already sent its
// status line.
func drainHandler(hard context.Context, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		dw := &drainWriter{ResponseWriter: w, hard: hard}
		h.ServeHTTP(dw, req)
		if hard.Err() != nil {
			dw.answer()
		}
	})
}

// drainWriter passes everything through until hard is done; from then on,
// a handler that has not written its status yet is answered for.
type drainWriter struct {
	http.ResponseWriter
	hard context.Context

	mu       sync.Mutex
	wrote    bool // the status line was sent
	answered bool // the 503 was sent in its place
}

// Unwrap gives http.ResponseController (flushes, hijacks) the writer
// underneath.
func (d *drainWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

func (d *drainWriter) WriteHeader(code int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.wrote || d.answered {
		return
	}
	if d.hard.Err() != nil && code >= 200 {
		d.answerLocked()
		return
	}
	if code >= 200 || code == http.StatusSwitchingProtocols {
		d.wrote = true
	}
	d.ResponseWriter.WriteHeader(code)
}

func (d *drainWriter) Write(p []byte) (int, error) {
	d.mu.Lock()
	if !d.wrote && !d.answered {
		if d.hard.Err() != nil {
			d.answerLocked()
		} else {
			d.wrote = true
		}
	}
	answered := d.answered
	d.mu.Unlock()
	if answered {
		return 0, http.ErrHandlerTimeout
	}
	return d.ResponseWriter.Write(p)
}

func (d *drainWriter) answer() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.wrote && !d.answered {
		d.answerLocked()
	}
}

func (d *drainWriter) answerLocked() {
	d.answered = true
	h := d.ResponseWriter.Header()
	for k := range h {
		delete(h, k)
	}
	h.Set("Connection", "close")
	h.Set("Retry-After", "1")
	h.Set(HeaderReason, "shutdown")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	d.ResponseWriter.WriteHeader(http.StatusServiceUnavailable)
	io.WriteString(d.ResponseWriter, "the proxy is shutting down\n")
}

// drain ends the requests srv still serves (hardStop) and waits up to
// drainGrace for their answers to go out.
func drain(srv *http.Server, hardStop context.CancelFunc) {
	hardStop()
	ctx, cancel := context.WithTimeout(context.Background(), drainGrace)
	defer cancel()
	srv.Shutdown(ctx)
}
