package recovery_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/leakcheck"
	"github.com/bulwark-go/bulwark/recovery"
)

// TestMain is leakcheck.Main plus the removal of the crash-test program,
// which is built once per test binary (see crasher).
func TestMain(m *testing.M) {
	// Recovered panics are logged to slog.Default by default; keep the test
	// output readable. Tests that look at the log set their own logger.
	recovery.SetDefault(recovery.Reporter{Logger: slog.New(slog.DiscardHandler)})
	code := m.Run()
	removeCrasher()
	if code == 0 {
		if left := leakcheck.Find(5 * time.Second); len(left) > 0 {
			os.Stderr.WriteString("leakcheck: goroutines still running after the tests:\n\n" + strings.Join(left, "\n\n") + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

// sink records what a Reporter reports.
type sink struct {
	mu     sync.Mutex
	log    bytes.Buffer
	events []bulwark.Event
	seen   []*recovery.PanicError
	notify chan struct{} // if set, gets a value per handled panic
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Write(p)
}

func (s *sink) Observe(e bulwark.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
}

func (s *sink) handle(pe *recovery.PanicError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, pe)
	if s.notify != nil {
		s.notify <- struct{}{}
	}
}

func (s *sink) reporter(name string) *recovery.Reporter {
	return &recovery.Reporter{
		Name:     name,
		OnPanic:  s.handle,
		Logger:   slog.New(slog.NewTextHandler(s, nil)),
		Observer: s,
	}
}

func (s *sink) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// checkReported fails t unless s got exactly one report of pe in each of
// its three ways.
func (s *sink) checkReported(t *testing.T, pe *recovery.PanicError, name string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) != 1 || s.seen[0] != pe {
		t.Errorf("handler saw %v, want exactly the returned PanicError", s.seen)
	}
	if len(s.events) != 1 {
		t.Fatalf("observer got %d events, want 1", len(s.events))
	}
	e := s.events[0]
	if e.Kind != bulwark.KindPanic || e.Policy != "recovery" || e.Name != name || e.Err != pe || !bytes.Equal(e.Stack, pe.Stack) {
		t.Errorf("event = %+v, want KindPanic from recovery named %q with the PanicError and its stack", e, name)
	}
	log := s.log.String()
	for _, want := range []string{"level=ERROR", "recovery: panic recovered", "stack=", "goroutine "} {
		if !strings.Contains(log, want) {
			t.Errorf("log %q lacks %q", log, want)
		}
	}
}

//go:noinline
func boom() error { panic("boom") }

func TestPanicError(t *testing.T) {
	cause := errors.New("cause")
	tests := []struct {
		name      string
		value     any
		wantMsg   string
		wantCause error
	}{
		{"string", "boom", "recovery: panic: boom", nil},
		{"error", cause, "recovery: panic: cause", cause},
		{"int", 42, "recovery: panic: 42", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pe := &recovery.PanicError{Value: tt.value}
			if got := pe.Error(); got != tt.wantMsg {
				t.Errorf("Error() = %q, want %q", got, tt.wantMsg)
			}
			if got := pe.Unwrap(); got != tt.wantCause {
				t.Errorf("Unwrap() = %v, want %v", got, tt.wantCause)
			}
			if !errors.Is(pe, recovery.ErrPanic) {
				t.Error("errors.Is(pe, ErrPanic) = false")
			}
			if tt.wantCause != nil && !errors.Is(pe, tt.wantCause) {
				t.Error("errors.Is(pe, cause) = false")
			}
		})
	}
}

func TestDo(t *testing.T) {
	s := new(sink)
	old := *recovery.Default()
	t.Cleanup(func() { recovery.SetDefault(old) })
	recovery.SetDefault(*s.reporter("default"))

	want := errors.New("plain")
	if err := recovery.Do(func() error { return want }); err != want {
		t.Fatalf("Do returned %v, want the function's error", err)
	}
	err := recovery.Do(boom)
	var pe *recovery.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("Do returned %v, want a *PanicError", err)
	}
	if pe.Value != "boom" {
		t.Errorf("Value = %v, want boom", pe.Value)
	}
	if !strings.Contains(string(pe.Stack), "recovery_test.boom") {
		t.Errorf("stack does not name the panicking function:\n%s", pe.Stack)
	}
	s.checkReported(t, pe, "default")
}

func TestDoRuntimeErrors(t *testing.T) {
	tests := []struct {
		name string
		fn   func() error
		want string
	}{
		{"nil map", func() error {
			var m map[string]int
			m["x"] = 1
			return nil
		}, "assignment to entry in nil map"},
		{"index", func() error {
			s := []int{}
			i := 3
			return errors.New(string(rune(s[i])))
		}, "index out of range"},
		{"panic nil", func() error { panic(nil) }, "panic called with nil argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := recovery.Do(tt.fn)
			var re runtime.Error
			if !errors.As(err, &re) {
				t.Fatalf("Do returned %v, want a PanicError wrapping a runtime.Error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
		})
	}
}

func TestCall(t *testing.T) {
	n, err := recovery.Call(func() (int, error) { return 7, nil })
	if n != 7 || err != nil {
		t.Fatalf("Call = %d, %v; want 7, nil", n, err)
	}
	n, err = recovery.Call(func() (int, error) {
		if true {
			panic("in call")
		}
		return 7, nil
	})
	if n != 0 || !errors.Is(err, recovery.ErrPanic) {
		t.Fatalf("Call = %d, %v; want 0 and a PanicError", n, err)
	}
}

func TestReporterDo(t *testing.T) {
	s := new(sink)
	err := s.reporter("mine").Do(boom)
	var pe *recovery.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("Do returned %v, want a *PanicError", err)
	}
	s.checkReported(t, pe, "mine")
}

func TestDoLetsGoexitThrough(t *testing.T) {
	after := make(chan bool, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		recovery.Do(func() error { runtime.Goexit(); return nil })
		after <- true
	}()
	<-done
	if len(after) != 0 {
		t.Fatal("code after Do ran although the function called Goexit")
	}
}

func TestReporterFallsBackToDefault(t *testing.T) {
	def, own := new(sink), new(sink)
	old := *recovery.Default()
	t.Cleanup(func() { recovery.SetDefault(old) })
	recovery.SetDefault(*def.reporter("default"))

	// Only a logger of its own: handler and observer come from the default.
	r := &recovery.Reporter{Name: "x", Logger: slog.New(slog.NewTextHandler(own, nil))}
	r.Do(boom)
	if len(def.seen) != 1 || len(def.events) != 1 {
		t.Errorf("default handler/observer got %d/%d reports, want 1/1", len(def.seen), len(def.events))
	}
	if def.logText() != "" {
		t.Errorf("default logger was used although the reporter has one: %q", def.logText())
	}
	if !strings.Contains(own.logText(), "name=x") {
		t.Errorf("own log %q lacks name=x", own.logText())
	}
}

func TestSetHandler(t *testing.T) {
	old := *recovery.Default()
	t.Cleanup(func() { recovery.SetDefault(old) })
	var got []*recovery.PanicError
	recovery.SetHandler(func(pe *recovery.PanicError) { got = append(got, pe) })
	if recovery.Default().Logger != old.Logger {
		t.Error("SetHandler changed the default logger")
	}
	err := recovery.Do(boom)
	if len(got) != 1 || got[0] != err {
		t.Fatalf("handler got %v, want the one PanicError %v", got, err)
	}
	recovery.SetHandler(nil)
	recovery.Do(boom)
	if len(got) != 1 {
		t.Fatal("handler still called after SetHandler(nil)")
	}
}

func TestHandlerPanicIsContained(t *testing.T) {
	s := new(sink)
	r := s.reporter("h")
	r.OnPanic = func(*recovery.PanicError) { panic("handler bug") }
	err := r.Do(boom)
	if !errors.Is(err, recovery.ErrPanic) {
		t.Fatalf("Do returned %v, want the PanicError of the function", err)
	}
	if log := s.logText(); !strings.Contains(log, "OnPanic handler panicked") || !strings.Contains(log, "handler bug") {
		t.Errorf("log %q does not report the handler's panic", log)
	}
}

func TestReportIgnoresNil(t *testing.T) {
	s := new(sink)
	s.reporter("n").Report(context.Background(), nil)
	if s.logText() != "" || len(s.events) != 0 {
		t.Fatal("Report(nil) reported something")
	}
	var zero *recovery.Reporter // a nil Reporter reports to the default
	if err := zero.Do(boom); !errors.Is(err, recovery.ErrPanic) {
		t.Fatalf("nil Reporter's Do returned %v", err)
	}
}

var _ io.Writer = (*sink)(nil)
