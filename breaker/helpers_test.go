package breaker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/eventlog"
)

var errBoom = errors.New("boom")

func mustNew(t testing.TB, c Config) *Breaker {
	t.Helper()
	br, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return br
}

// call runs one call that returns err through br and returns what Execute
// returned.
func call(br *Breaker, err error) error {
	return bulwark.Run(context.Background(), br, func(context.Context) error { return err })
}

// calls runs n calls returning err and fails the test unless every one
// reached the dependency.
func calls(t testing.TB, br *Breaker, n int, err error) {
	t.Helper()
	for i := range n {
		if got := call(br, err); got != err {
			t.Fatalf("call %d of %d: got %v, want %v", i+1, n, got, err)
		}
	}
}

// rejected fails the test unless a call is rejected with an *OpenError in
// state want.
func rejected(t testing.TB, br *Breaker, want State) *OpenError {
	t.Helper()
	reached := false
	err := bulwark.Run(context.Background(), br, func(context.Context) error { reached = true; return nil })
	var oe *OpenError
	if reached || !errors.As(err, &oe) || !errors.Is(err, ErrOpen) {
		t.Fatalf("call reached=%v err=%v, want a rejection", reached, err)
	}
	if oe.State != want {
		t.Fatalf("rejected in state %v, want %v", oe.State, want)
	}
	return oe
}

func wantState(t testing.TB, br *Breaker, want State) {
	t.Helper()
	if got := br.State(); got != want {
		t.Fatalf("state %v, want %v", got, want)
	}
}

// changes renders the KindStateChange events that rec heard as "from>to"
// (with a "~" suffix for unenforced metrics-only transitions).
func changes(rec *eventlog.Recorder) string {
	var s []string
	for _, e := range rec.Of(bulwark.KindStateChange) {
		c := e.From + ">" + e.To
		if errors.Is(e.Err, ErrMetricsOnly) {
			c += "~"
		}
		s = append(s, c)
	}
	return strings.Join(s, " ")
}

// transitions is a listener that keeps every Change.
type transitions struct {
	mu   sync.Mutex
	list []Change
}

func (tr *transitions) listen(c Change) {
	tr.mu.Lock()
	tr.list = append(tr.list, c)
	tr.mu.Unlock()
}

func (tr *transitions) String() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var s []string
	for _, c := range tr.list {
		s = append(s, fmt.Sprintf("%v>%v(%v)", c.From, c.To, c.Cause))
	}
	return strings.Join(s, " ")
}

func (tr *transitions) last() Change {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.list) == 0 {
		return Change{}
	}
	return tr.list[len(tr.list)-1]
}
