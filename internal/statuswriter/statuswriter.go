// Package statuswriter is the http.ResponseWriter wrapper that records
// the status a handler answered with and whether it took the connection
// over, shared by bulwarkhttp (which counts a 5xx as a failure) and
// recovery (which answers 500 after a panic only if the response has not
// started).
package statuswriter

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// A Writer wraps an http.ResponseWriter and records the final status
// written through it and whether the connection was hijacked. It keeps
// Flush, Hijack and io.ReaderFrom available, and unwraps for
// http.ResponseController. Like the ResponseWriter it wraps, it is used by
// one handler goroutine at a time.
type Writer struct {
	http.ResponseWriter
	code     int // the final status written; 0 until the response starts
	hijacked bool
}

// New returns a Writer that wraps w.
func New(w http.ResponseWriter) *Writer {
	return &Writer{ResponseWriter: w}
}

// WriteHeader records code if it is the first final status (1xx other
// than 101 are informational: the final status is still to come) and
// passes it on.
func (w *Writer) WriteHeader(code int) {
	if w.code == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// start records the implicit 200 of a response that starts with a write
// or a flush.
func (w *Writer) start() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
}

// Write implements http.ResponseWriter.
func (w *Writer) Write(b []byte) (int, error) {
	w.start()
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps the underlying writer's sendfile path reachable.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	w.start()
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, r)
}

// writerOnly hides a ReadFrom method so that io.Copy does not loop.
type writerOnly struct{ io.Writer }

// FlushError flushes through http.ResponseController, reporting an error
// when the underlying writer cannot flush.
func (w *Writer) FlushError() error {
	w.start()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush implements http.Flusher.
func (w *Writer) Flush() { _ = w.FlushError() }

// Hijack implements http.Hijacker when the underlying writer allows it.
func (w *Writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, brw, err
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Started reports whether the response has started: a final status was
// written, or a body write or a flush sent the implicit 200 (or will with
// the next flush). A started response can no longer be replaced.
func (w *Writer) Started() bool { return w.code != 0 }

// Hijacked reports whether the handler took the connection over.
func (w *Writer) Hijacked() bool { return w.hijacked }

// Status returns the status the client got: 200 when the handler wrote
// nothing (net/http sends that), 0 when the connection was hijacked.
func (w *Writer) Status() int {
	switch {
	case w.hijacked:
		return 0
	case w.code == 0:
		return http.StatusOK
	}
	return w.code
}
