package bulwarkhttp

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark/recovery"
)

// Timeout bounds the time a handler has to answer. The handler runs with a
// context that ends after d (its cause is http.ErrHandlerTimeout); if it has
// not answered by then:
//
//   - if it had written nothing, the client gets 503 Service Unavailable
//     ("handler timeout"), and the handler's later writes fail with
//     http.ErrHandlerTimeout;
//   - if its response had started (even if the handler returned just after
//     the deadline), the connection is aborted (a panic with
//     http.ErrAbortHandler), so that the client sees a broken response
//     rather than a truncated one that looks complete.
//
// Unlike http.TimeoutHandler, the response is not buffered: writes go
// through as they are made (guarded by a lock), and Flush works, so
// streaming handlers can be bounded too. The handler gets its own header
// map, copied to the response when it writes the status. Hijacking is not
// supported under a timeout, nor are trailers. The handler runs on a
// goroutine of its own; a panic there is raised again on the serving
// goroutine, with the same value, if the handler was still in time, and is
// otherwise reported to recovery's default Reporter.
//
// Timeout panics if d is not positive.
func Timeout(d time.Duration) Middleware {
	if d <= 0 {
		panic("bulwarkhttp: Timeout: duration must be positive")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeoutCause(r.Context(), d, http.ErrHandlerTimeout)
			defer cancel()
			tw := &timeoutWriter{w: w, h: make(http.Header), ctx: ctx}
			done := make(chan struct{})
			go func() {
				defer func() {
					p := recover()
					var stack []byte
					if p != nil {
						stack = debug.Stack()
					}
					tw.mu.Lock()
					tw.late() // returning after the deadline is too late as well
					tw.finished = true
					tw.panicVal, tw.panicStack = p, stack
					abandoned := tw.abandoned
					tw.mu.Unlock()
					close(done)
					if abandoned && p != nil && p != http.ErrAbortHandler {
						recovery.Default().Report(ctx, &recovery.PanicError{Value: p, Stack: stack})
					}
				}()
				next.ServeHTTP(tw, r.WithContext(ctx))
			}()
			select {
			case <-done:
			case <-ctx.Done():
			}
			tw.mu.Lock()
			if tw.finished && !tw.timedOut { // in time: every write went through
				tw.mu.Unlock()
				if tw.panicVal != nil {
					panic(tw.panicVal)
				}
				return
			}
			// Out of time: writes from now on fail.
			tw.timedOut = true
			tw.abandoned = !tw.finished
			started := tw.wroteHeader
			p, stack := tw.panicVal, tw.panicStack
			tw.mu.Unlock()
			if p != nil && p != http.ErrAbortHandler { // it panicked after its time was up
				recovery.Default().Report(r.Context(), &recovery.PanicError{Value: p, Stack: stack})
			}
			if started {
				panic(http.ErrAbortHandler)
			}
			if r.Context().Err() == nil { // the client is still there
				http.Error(w, "handler timeout", http.StatusServiceUnavailable)
			}
		})
	}
}

// timeoutWriter guards the ResponseWriter shared by the handler's goroutine
// and the middleware's.
type timeoutWriter struct {
	w   http.ResponseWriter
	h   http.Header     // the handler's header map
	ctx context.Context // the handler's: once it is done, writes fail

	mu          sync.Mutex
	wroteHeader bool
	timedOut    bool // a write came too late, or the middleware gave up
	finished    bool // the handler returned
	abandoned   bool // the middleware returned before the handler did
	panicVal    any
	panicStack  []byte
}

// late reports whether writes must fail now, marking it; mu held. Checking
// the context under the lock, rather than waiting for the middleware to
// notice the deadline, means that no write can slip through after it.
func (tw *timeoutWriter) late() bool {
	if !tw.timedOut && tw.ctx.Err() != nil {
		tw.timedOut = true
	}
	return tw.timedOut
}

func (tw *timeoutWriter) Header() http.Header { return tw.h }

func (tw *timeoutWriter) WriteHeader(code int) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.late() || tw.wroteHeader {
		return
	}
	tw.writeHeader(code)
}

// writeHeader copies the handler's headers and sends the status; mu held.
func (tw *timeoutWriter) writeHeader(code int) {
	dst := tw.w.Header()
	for k, v := range tw.h {
		dst[k] = v
	}
	if code >= 200 || code == http.StatusSwitchingProtocols {
		tw.wroteHeader = true
	}
	tw.w.WriteHeader(code)
}

func (tw *timeoutWriter) Write(b []byte) (int, error) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.late() {
		return 0, http.ErrHandlerTimeout
	}
	if !tw.wroteHeader {
		tw.writeHeader(http.StatusOK)
	}
	return tw.w.Write(b)
}

// FlushError flushes what the handler wrote, or returns
// http.ErrHandlerTimeout once the time is up.
func (tw *timeoutWriter) FlushError() error {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.late() {
		return http.ErrHandlerTimeout
	}
	if !tw.wroteHeader {
		tw.writeHeader(http.StatusOK)
	}
	return http.NewResponseController(tw.w).Flush()
}

// Flush implements http.Flusher.
func (tw *timeoutWriter) Flush() { _ = tw.FlushError() }

// Hijack refuses: a hijacked connection would escape the timeout.
func (tw *timeoutWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, http.ErrNotSupported
}
