package recovery

import (
	"io"
	"log/slog"
	"net/http"

	"github.com/bulwark-go/bulwark/internal/statuswriter"
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
		rw := statuswriter.New(w)
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
			case rw.Hijacked():
			case rw.Started():
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
