package statuswriter

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestStatus(t *testing.T) {
	tests := []struct {
		name        string
		do          func(w *Writer)
		wantStarted bool
		wantStatus  int
		wantCode    int // what the recorder underneath got; 0: not checked (httptest keeps a 1xx as Code)
	}{
		{"nothing", func(w *Writer) {}, false, 200, 200},
		{"WriteHeader", func(w *Writer) { w.WriteHeader(503) }, true, 503, 503},
		{"first final status wins", func(w *Writer) { w.WriteHeader(502); w.WriteHeader(200) }, true, 502, 502},
		{"1xx is informational", func(w *Writer) { w.WriteHeader(http.StatusEarlyHints) }, false, 200, 103},
		{"1xx then final", func(w *Writer) { w.WriteHeader(103); w.WriteHeader(500) }, true, 500, 0},
		{"101 is final", func(w *Writer) { w.WriteHeader(http.StatusSwitchingProtocols) }, true, 101, 101},
		{"Write", func(w *Writer) { io.WriteString(w, "x") }, true, 200, 200},
		{"Write then WriteHeader", func(w *Writer) { io.WriteString(w, "x"); w.WriteHeader(500) }, true, 200, 200},
		{"ReadFrom", func(w *Writer) { w.ReadFrom(strings.NewReader("x")) }, true, 200, 200},
		{"Flush", func(w *Writer) { w.Flush() }, true, 200, 200},
		{"FlushError", func(w *Writer) { w.FlushError() }, true, 200, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			w := New(rec)
			tt.do(w)
			if got := w.Started(); got != tt.wantStarted {
				t.Errorf("Started() = %v, want %v", got, tt.wantStarted)
			}
			if got := w.Status(); got != tt.wantStatus {
				t.Errorf("Status() = %d, want %d", got, tt.wantStatus)
			}
			if tt.wantCode != 0 && rec.Code != tt.wantCode {
				t.Errorf("the wrapped writer got %d, want %d", rec.Code, tt.wantCode)
			}
			if w.Hijacked() {
				t.Error("Hijacked() = true without a Hijack")
			}
		})
	}
}

// plainWriter is a ResponseWriter with neither ReadFrom, Flush, Hijack nor
// Unwrap.
type plainWriter struct {
	h    http.Header
	body strings.Builder
}

func (p *plainWriter) Header() http.Header         { return p.h }
func (p *plainWriter) Write(b []byte) (int, error) { return p.body.Write(b) }
func (p *plainWriter) WriteHeader(int)             {}

func TestReadFromWithoutReaderFrom(t *testing.T) {
	p := &plainWriter{h: http.Header{}}
	w := New(p)
	n, err := w.ReadFrom(strings.NewReader("hello"))
	if err != nil || n != 5 || p.body.String() != "hello" {
		t.Fatalf("ReadFrom = %d, %v; body %q, want 5, nil, %q", n, err, p.body.String(), "hello")
	}
}

func TestFlushAndHijackUnsupported(t *testing.T) {
	w := New(&plainWriter{h: http.Header{}})
	if err := w.FlushError(); err == nil {
		t.Error("FlushError on a writer that cannot flush: got nil error")
	}
	if _, _, err := w.Hijack(); err == nil {
		t.Error("Hijack on a writer that cannot hijack: got nil error")
	}
	if w.Hijacked() {
		t.Error("Hijacked() = true after a failed Hijack")
	}
}

func TestFlushReachesTheWrappedWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	New(rec).Flush()
	if !rec.Flushed {
		t.Error("the wrapped recorder was not flushed")
	}
}

// On a real server: http.ResponseController finds the connection's writer
// through Unwrap (SetWriteDeadline has no other way there), and Hijack
// hands over the connection and reports status 0.
func TestOnAServer(t *testing.T) {
	type result struct {
		deadlineErr, hijackErr error
		hijacked               bool
		status                 int
	}
	results := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := New(rw)
		var res result
		res.deadlineErr = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute))
		var c net.Conn
		var brw *bufio.ReadWriter
		c, brw, res.hijackErr = w.Hijack()
		res.hijacked, res.status = w.Hijacked(), w.Status()
		if res.hijackErr == nil {
			brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			brw.Flush()
			c.Close()
		}
		results <- res
	}))
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "ok" {
		t.Errorf("body %q, %v; want %q written on the hijacked connection", body, err, "ok")
	}
	res := <-results
	if res.deadlineErr != nil {
		t.Errorf("SetWriteDeadline through ResponseController: %v", res.deadlineErr)
	}
	if res.hijackErr != nil || !res.hijacked || res.status != 0 {
		t.Errorf("Hijack: err %v, Hijacked() %v, Status() %d; want nil, true, 0", res.hijackErr, res.hijacked, res.status)
	}
}
