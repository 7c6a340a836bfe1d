package adaptive

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/eventlog"
)

// limitChanges returns the From→To pairs of the KindLimitChange events.
func limitChanges(rec *eventlog.Recorder) [][2]string {
	var got [][2]string
	for _, e := range rec.Of(bulwark.KindLimitChange) {
		if e.Policy != "adaptive" || e.Name != "db" {
			panic("event from the wrong policy: " + e.Policy + " " + e.Name)
		}
		got = append(got, [2]string{e.From, e.To})
	}
	return got
}

// Every move of the limit in force reaches the Observer, once, with the
// values Snapshot.Limit shows before and after.
func TestLimitChangesAreObserved(t *testing.T) {
	rec := &eventlog.Recorder{}
	l, err := New(Config{Name: "db", Algorithm: AIMD{Backoff: 0.5}, InitialLimit: 10, Observer: rec})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	window := func(n int, report func(Token)) {
		var toks []Token
		for range n {
			tok, err := l.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			toks = append(toks, tok)
		}
		for _, tok := range toks {
			report(tok)
		}
	}
	window(10, Token.OnSuccess) // 10 → 11
	window(11, Token.OnDropped) // 11 → 5
	window(5, Token.OnIgnore)   // not samples: no change
	window(5, Token.OnIgnore)
	window(5, Token.OnSuccess) // a window of 10 calls at the limit: 5 → 6
	window(5, Token.OnSuccess)
	want := [][2]string{{"10", "11"}, {"11", "5"}, {"5", "6"}}
	if got := limitChanges(rec); !slices.Equal(got, want) {
		t.Errorf("limit changes %v, want %v", got, want)
	}
	if got := l.Snapshot().Limit; got != 6 {
		t.Errorf("Snapshot().Limit = %d, want 6", got)
	}
}

// A probe halves the limit in force and gives it back: both moves are
// reported.
func TestProbeLimitChangesAreObserved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &eventlog.Recorder{}
		l, err := New(Config{Name: "db", InitialLimit: 20, Observer: rec})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for range probeMin { // the first probe, at 10, ends: back to 20
			tok, err := l.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
			tok.OnSuccess()
		}
		want := [][2]string{{"10", "20"}}
		if got := limitChanges(rec); !slices.Equal(got, want) {
			t.Errorf("limit changes %v, want %v", got, want)
		}
	})
}
