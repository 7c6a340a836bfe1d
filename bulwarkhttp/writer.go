package bulwarkhttp

import (
	"net/http"

	"github.com/bulwark-go/bulwark/internal/statuswriter"
)

// statusWriter records the status a handler answered with, so that the
// middlewares can count a 5xx as a failure, and whether a bulwarkhttp
// middleware refused the request. It keeps Flush, Hijack and io.ReaderFrom
// available and unwraps for http.ResponseController.
//
// Middlewares next to each other share one statusWriter: a middleware that
// finds one as its writer uses it instead of wrapping again.
type statusWriter struct {
	statuswriter.Writer
	rejected bool // a bulwarkhttp middleware refused the request (429, 503)
}

// recordStatus returns w as a *statusWriter, wrapping it if it is not one.
func recordStatus(w http.ResponseWriter) *statusWriter {
	if sw, ok := w.(*statusWriter); ok {
		return sw
	}
	return &statusWriter{Writer: statuswriter.Writer{ResponseWriter: w}}
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
