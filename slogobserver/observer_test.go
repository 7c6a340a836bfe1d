package slogobserver

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/lockorder"
)

// newLogger returns a logger writing text records without the time to buf.
func newLogger(buf *bytes.Buffer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
}

func TestObserveWritesRecords(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name  string
		event bulwark.Event
		want  string
	}{{
		name:  "state change at warn",
		event: bulwark.Event{Kind: bulwark.KindStateChange, Policy: "breaker", Name: "db", From: "closed", To: "open"},
		want:  `level=WARN msg="bulwark: state changed" policy=breaker name=db from=closed to=open`,
	}, {
		name:  "retry at debug",
		event: bulwark.Event{Kind: bulwark.KindRetry, Policy: "retry", Name: "api", Attempt: 2, Delay: 100 * time.Millisecond, Err: boom},
		want:  `level=DEBUG msg="bulwark: retrying" policy=retry name=api attempt=2 delay=100ms error=boom`,
	}, {
		name:  "exhausted at info",
		event: bulwark.Event{Kind: bulwark.KindExhausted, Policy: "retry", Name: "api", Attempt: 3, Err: boom},
		want:  `level=INFO msg="bulwark: retries exhausted" policy=retry name=api attempt=3 error=boom`,
	}, {
		name:  "budget at info",
		event: bulwark.Event{Kind: bulwark.KindBudgetExhausted, Policy: "retry", Name: "api"},
		want:  `level=INFO msg="bulwark: retry budget exhausted" policy=retry name=api`,
	}, {
		name:  "rejection at info",
		event: bulwark.Event{Kind: bulwark.KindRejected, Policy: "bulkhead", Name: "pool", Err: errors.New("bulkhead: full")},
		want:  `level=INFO msg="bulwark: call rejected" policy=bulkhead name=pool error="bulkhead: full"`,
	}, {
		name:  "panic at error with the stack",
		event: bulwark.Event{Kind: bulwark.KindPanic, Policy: "recovery", Name: "worker", Err: errors.New("recovery: panic: kaput"), Stack: []byte("goroutine 7 [running]:\nmain.work()")},
		want:  `level=ERROR msg="bulwark: panic recovered" policy=recovery name=worker error="recovery: panic: kaput" stack="goroutine 7 [running]:\nmain.work()"`,
	}, {
		name:  "call at debug",
		event: bulwark.Event{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeFailure, Slow: true, Duration: 2 * time.Second},
		want:  `level=DEBUG msg="bulwark: call finished" policy=breaker name=db outcome=failure slow=true duration=2s`,
	}, {
		name:  "unknown kind at info",
		event: bulwark.Event{Kind: bulwark.Kind(99), Policy: "mine", Name: "x"},
		want:  `level=INFO msg="bulwark: event" policy=mine name=x kind=unknown`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			o, err := New(Config{Logger: newLogger(&buf, slog.LevelDebug)})
			if err != nil {
				t.Fatal(err)
			}
			o.Observe(tt.event)
			if got := strings.TrimSpace(buf.String()); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestEveryKindHasALevelAndMessage(t *testing.T) {
	for k := bulwark.KindCall; k <= bulwark.KindLimitChange; k++ {
		if _, ok := DefaultLevels()[k]; !ok {
			t.Errorf("%v has no default level", k)
		}
		if messages[k] == "" {
			t.Errorf("%v has no message", k)
		}
	}
}

func TestDisabledLevelsWriteNothing(t *testing.T) {
	var buf bytes.Buffer
	o, err := New(Config{Logger: newLogger(&buf, slog.LevelInfo)})
	if err != nil {
		t.Fatal(err)
	}
	e := bulwark.Event{Kind: bulwark.KindRetry, Policy: "retry", Name: "api", Attempt: 2}
	o.Observe(e)
	if buf.Len() != 0 {
		t.Errorf("a debug event was written at info: %s", buf.String())
	}
	if n := testing.AllocsPerRun(100, func() { o.Observe(e) }); n != 0 {
		t.Errorf("a disabled event allocates %v times, want 0", n)
	}
}

func TestLevelsOverrideTheDefaults(t *testing.T) {
	var buf bytes.Buffer
	o, err := New(Config{
		Logger: newLogger(&buf, slog.LevelInfo),
		Levels: map[bulwark.Kind]slog.Level{bulwark.KindRetry: slog.LevelWarn, bulwark.KindRejected: Off},
	})
	if err != nil {
		t.Fatal(err)
	}
	o.Observe(bulwark.Event{Kind: bulwark.KindRejected, Policy: "bulkhead", Name: "pool"})
	o.Observe(bulwark.Event{Kind: bulwark.KindRetry, Policy: "retry", Name: "api", Attempt: 2})
	o.Observe(bulwark.Event{Kind: bulwark.KindStateChange, Policy: "breaker", Name: "db", From: "closed", To: "open"})
	want := `level=WARN msg="bulwark: retrying" policy=retry name=api attempt=2
level=WARN msg="bulwark: state changed" policy=breaker name=db from=closed to=open
`
	if got := buf.String(); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
}

func TestNewRejectsUnknownKind(t *testing.T) {
	_, err := New(Config{Levels: map[bulwark.Kind]slog.Level{bulwark.Kind(42): slog.LevelInfo}})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "Levels names kind 42") {
		t.Errorf("err = %v, want ErrConfig naming kind 42", err)
	}
}

func TestNilLoggerUsesTheDefaultAtEachEvent(t *testing.T) {
	old := slog.Default()
	t.Cleanup(func() { slog.SetDefault(old) })
	o, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.SetDefault(newLogger(&buf, slog.LevelInfo)) // after New
	o.Observe(bulwark.Event{Kind: bulwark.KindExhausted, Policy: "retry", Name: "api", Attempt: 3})
	want := `level=INFO msg="bulwark: retries exhausted" policy=retry name=api attempt=3` + "\n"
	if got := buf.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func BenchmarkObserveDisabled(b *testing.B) {
	o, _ := New(Config{Logger: newLogger(new(bytes.Buffer), slog.LevelInfo)})
	e := bulwark.Event{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeSuccess}
	b.ReportAllocs()
	for b.Loop() {
		o.Observe(e)
	}
}

var kindDrained = bulwark.NewKind("slogobserver_test_drained")

// A kind another package registers is logged at Info as "bulwark: event"
// with its name, and Levels can set its level; lockorder's kinds keep their
// own messages and levels.
func TestRegisteredKinds(t *testing.T) {
	var buf bytes.Buffer
	o, err := New(Config{Logger: newLogger(&buf, slog.LevelInfo)})
	if err != nil {
		t.Fatal(err)
	}
	o.Observe(bulwark.Event{Kind: kindDrained, Policy: "queue", Name: "jobs"})
	o.Observe(bulwark.Event{Kind: lockorder.KindInversion, Policy: "lockorder", Name: "a"})
	o.Observe(bulwark.Event{Kind: lockorder.KindLongWait, Policy: "lockorder", Name: "a", Delay: time.Second})
	want := `level=INFO msg="bulwark: event" policy=queue name=jobs kind=slogobserver_test_drained
level=ERROR msg="bulwark: lock-order inversion" policy=lockorder name=a
level=WARN msg="bulwark: long lock wait" policy=lockorder name=a delay=1s
`
	if got := buf.String(); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
	buf.Reset()
	o, err = New(Config{Logger: newLogger(&buf, slog.LevelInfo), Levels: map[bulwark.Kind]slog.Level{kindDrained: Off}})
	if err != nil {
		t.Fatal(err)
	}
	o.Observe(bulwark.Event{Kind: kindDrained, Policy: "queue", Name: "jobs"})
	if buf.Len() != 0 {
		t.Errorf("a kind set Off was written: %s", buf.String())
	}
}
