package bulwarkhttp

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// statusWriter records the status a handler answered with, so that the
// middlewares can count a 5xx as a failure. It keeps Flush, Hijack and
// io.ReaderFrom available and unwraps for http.ResponseController.
//
// Middlewares next to each other share one statusWriter: a middleware that
// finds one as its writer uses it instead of wrapping again.
type statusWriter struct {
	http.ResponseWriter
	code     int  // the final status written; 0 until then
	rejected bool // a bulwarkhttp middleware refused the request (429, 503)
	hijacked bool
}

// recordStatus returns w as a *statusWriter, wrapping it if it is not one.
func recordStatus(w http.ResponseWriter) *statusWriter {
	if sw, ok := w.(*statusWriter); ok {
		return sw
	}
	return &statusWriter{ResponseWriter: w}
}

func (w *statusWriter) WriteHeader(code int) {
	// 1xx other than 101 are informational: the final status is to come.
	if w.code == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps the underlying writer's sendfile path reachable.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, r)
}

type writerOnly struct{ io.Writer }

// FlushError flushes the underlying writer, reporting an error when it
// cannot flush.
func (w *statusWriter) FlushError() error {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush implements http.Flusher.
func (w *statusWriter) Flush() { _ = w.FlushError() }

// Hijack implements http.Hijacker when the underlying writer does.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, brw, err
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status returns the status the client got: 200 when the handler wrote
// nothing (net/http sends that), 0 when the connection was hijacked.
func (w *statusWriter) status() int {
	switch {
	case w.hijacked:
		return 0
	case w.code == 0:
		return http.StatusOK
	}
	return w.code
}

// markRejected flags every statusWriter in w's chain: the response that
// follows is a refusal by a bulwarkhttp middleware, which the breaker and
// the adaptive limiter must not count as the handler's failure.
func markRejected(w http.ResponseWriter) {
	for w != nil {
		if sw, ok := w.(*statusWriter); ok {
			sw.rejected = true
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}
