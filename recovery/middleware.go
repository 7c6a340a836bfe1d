package recovery

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
)

// Middleware returns a handler that calls next and recovers its panic. The
// panic is reported to rep (nil means the package default [Reporter]) with
// the request's method and path (a nil rep resolves to the default at the
// time of the panic, so a later SetDefault or SetHandler applies), and then:
//
//   - if next had not started its response, the client gets a plain
//     "500 Internal Server Error" (headers next had set are dropped);
//   - if the response had started, Middleware panics with
//     http.ErrAbortHandler, so that net/http aborts the connection and the
//     client sees a broken response rather than a truncated one that looks
//     complete;
//   - if next hijacked the connection, nothing more is done.
//
// A panic with http.ErrAbortHandler itself is the documented way for a
// handler to abort a response: it is passed on unchanged and not reported.
//
// The ResponseWriter given to next keeps Flush, Hijack and io.ReaderFrom
// available, and unwraps for http.ResponseController.
func Middleware(next http.Handler, rep *Reporter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &responseWriter{ResponseWriter: w}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			pe := newPanicError(p)
			rep.report(r.Context(), pe, slog.String("method", r.Method), slog.String("path", r.URL.Path))
			switch {
			case rw.hijacked:
			case rw.wrote:
				panic(http.ErrAbortHandler)
			default:
				h := w.Header()
				for k := range h {
					delete(h, k)
				}
				h.Set("Content-Type", "text/plain; charset=utf-8")
				h.Set("X-Content-Type-Options", "nosniff")
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, "Internal Server Error\n")
			}
		}()
		next.ServeHTTP(rw, r)
	})
}

// responseWriter records whether the response has started, so that the
// middleware knows whether it can still answer 500.
type responseWriter struct {
	http.ResponseWriter
	wrote    bool // the status line is sent (or will be with the next flush)
	hijacked bool
}

func (w *responseWriter) WriteHeader(code int) {
	// 1xx responses other than 101 are informational: the final status is
	// still to come.
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps the underlying writer's sendfile path reachable.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	w.wrote = true
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, r)
}

// writerOnly hides a ReadFrom method so that io.Copy does not loop.
type writerOnly struct{ io.Writer }

// FlushError flushes through http.ResponseController, reporting an error
// when the underlying writer cannot flush.
func (w *responseWriter) FlushError() error {
	w.wrote = true
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// Hijack implements http.Hijacker when the underlying writer allows it.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, brw, err
}

// Unwrap returns the ResponseWriter the middleware was given, for
// http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
