package recovery_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/recovery"
)

func TestMiddlewareAnswers500(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"panic at once", func(w http.ResponseWriter, r *http.Request) { panic("handler") }},
		{"headers set, nothing written", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Set-Cookie", "session=secret")
			panic("handler")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := new(sink)
			h := recovery.Middleware(tt.handler, s.reporter("http"))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/boom?x=1", nil))
			if rec.Code != http.StatusInternalServerError {
				t.Errorf("status = %d, want 500", rec.Code)
			}
			if got := rec.Body.String(); got != "Internal Server Error\n" {
				t.Errorf("body = %q", got)
			}
			if got := rec.Header().Get("Content-Type"); got != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := rec.Header().Get("Set-Cookie"); got != "" {
				t.Errorf("the handler's Set-Cookie %q was sent with the 500", got)
			}
			if len(s.seen) != 1 {
				t.Fatalf("reported %d panics, want 1", len(s.seen))
			}
			if log := s.logText(); !strings.Contains(log, "method=GET") || !strings.Contains(log, "path=/boom") {
				t.Errorf("log %q lacks the request", log)
			}
		})
	}
}

func TestMiddlewarePassesThrough(t *testing.T) {
	s := new(sink)
	h := recovery.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "tea")
	}), s.reporter(""))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusTeapot || rec.Body.String() != "tea" || len(s.seen) != 0 {
		t.Fatalf("got %d %q with %d reports; want 418 tea and none", rec.Code, rec.Body, len(s.seen))
	}
}

// recoverPanic calls f and returns what it panicked with.
func recoverPanic(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}

func TestMiddlewareAbortsStartedResponse(t *testing.T) {
	s := new(sink)
	h := recovery.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		panic("midway")
	}), s.reporter(""))
	rec := httptest.NewRecorder()
	p := recoverPanic(func() { h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil)) })
	if p != http.ErrAbortHandler {
		t.Fatalf("middleware panicked with %v, want http.ErrAbortHandler", p)
	}
	if rec.Code != http.StatusOK || rec.Body.String() != "partial" {
		t.Errorf("got %d %q; the middleware must not write after the handler started", rec.Code, rec.Body)
	}
	if len(s.seen) != 1 {
		t.Errorf("reported %d panics, want 1", len(s.seen))
	}
}

func TestMiddlewareKeepsErrAbortHandler(t *testing.T) {
	s := new(sink)
	h := recovery.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}), s.reporter(""))
	rec := httptest.NewRecorder()
	p := recoverPanic(func() { h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil)) })
	if p != http.ErrAbortHandler {
		t.Fatalf("middleware panicked with %v, want http.ErrAbortHandler", p)
	}
	if len(s.seen) != 0 || s.logText() != "" {
		t.Errorf("ErrAbortHandler was reported as a crash: %q", s.logText())
	}
}

// Through a real server: the client gets a 500, or a broken response when
// the handler had started writing, and the writer keeps its extra methods.
func TestMiddlewareServer(t *testing.T) {
	s := &sink{notify: make(chan struct{}, 10)}
	mux := http.NewServeMux()
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) { panic("server") })
	mux.HandleFunc("/hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints) // informational: the 500 can still follow
		panic("after 103")
	})
	mux.HandleFunc("/partial", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("ResponseController.Flush: %v", err)
		}
		panic("after flush")
	})
	mux.HandleFunc("/flusher", func(w http.ResponseWriter, r *http.Request) {
		f, ok := w.(http.Flusher)
		if !ok {
			t.Error("the wrapped writer is not an http.Flusher")
			return
		}
		io.WriteString(w, "flushed")
		f.Flush()
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		brw.Flush()
		panic("after hijack")
	})
	ts := httptest.NewServer(recovery.Middleware(mux, s.reporter("")))
	defer ts.Close()

	get := func(path string) (int, string, error) {
		resp, err := ts.Client().Get(ts.URL + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	tests := []struct {
		path     string
		code     int
		body     string
		broken   bool
		reported int
	}{
		{"/500", 500, "Internal Server Error\n", false, 1},
		{"/hints", 500, "Internal Server Error\n", false, 1},
		{"/partial", 200, "partial", true, 1},
		{"/flusher", 200, "flushed", false, 0},
		{"/hijack", 200, "hijacked", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, body, err := get(tt.path)
			if code != tt.code || body != tt.body {
				t.Errorf("got %d %q, want %d %q", code, body, tt.code, tt.body)
			}
			if broken := err != nil; broken != tt.broken {
				t.Errorf("read error %v; want broken=%v", err, tt.broken)
			}
			for range tt.reported {
				// A hijacked connection is closed before the middleware
				// sees the panic, so the client may finish first.
				select {
				case <-s.notify:
				case <-time.After(10 * time.Second):
					t.Fatal("the panic was not reported")
				}
			}
		})
	}
	ts.Close()
	if len(s.seen) != 4 {
		t.Errorf("reported %d panics in all, want 4", len(s.seen))
	}
}

func TestResponseWriterUnwrap(t *testing.T) {
	rec := httptest.NewRecorder()
	var inner http.ResponseWriter
	recovery.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			t.Fatal("the wrapped writer has no Unwrap")
		}
		inner = u.Unwrap()
		if _, ok := w.(io.ReaderFrom); !ok {
			t.Error("the wrapped writer is not an io.ReaderFrom")
		}
		w.(io.ReaderFrom).ReadFrom(strings.NewReader("copied"))
	}), nil).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if inner != rec {
		t.Errorf("Unwrap() = %T, want the recorder", inner)
	}
	if rec.Body.String() != "copied" {
		t.Errorf("body = %q", rec.Body)
	}
	// A recorder cannot be hijacked: the error comes through.
	recovery.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _, err := w.(http.Hijacker).Hijack()
		if !errors.Is(err, http.ErrNotSupported) {
			t.Errorf("Hijack on a recorder: %v, want ErrNotSupported", err)
		}
	}), nil).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

// A middleware built with a nil reporter reports to the default in force
// when the panic happens, not when the middleware was built.
func TestMiddlewareNilReporterIsLate(t *testing.T) {
	h := recovery.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("late") }), nil)
	s := new(sink)
	old := *recovery.Default()
	t.Cleanup(func() { recovery.SetDefault(old) })
	recovery.SetDefault(*s.reporter("later"))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if len(s.seen) != 1 || !strings.Contains(s.logText(), "name=later") {
		t.Fatalf("the default set after building the middleware got %d reports; log %q", len(s.seen), s.logText())
	}
}
