package eventlog_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/eventlog"
	"github.com/bulwark-go/bulwark/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestRecorder(t *testing.T) {
	var rec eventlog.Recorder
	if got := rec.Events(); got != nil {
		t.Errorf("zero Recorder: Events = %+v, want none", got)
	}
	heard := []bulwark.Event{
		{Kind: bulwark.KindCall, Policy: "p", Name: "a"},
		{Kind: bulwark.KindRetry, Attempt: 1},
		{Kind: bulwark.KindCall, Policy: "p", Name: "b"},
	}
	for _, e := range heard {
		rec.Observe(e)
	}

	got := rec.Events()
	if len(got) != len(heard) || rec.Len() != len(heard) {
		t.Fatalf("Events = %+v (Len %d), want %+v", got, rec.Len(), heard)
	}
	for i := range heard {
		if got[i].Kind != heard[i].Kind || got[i].Name != heard[i].Name || got[i].Attempt != heard[i].Attempt {
			t.Errorf("Events[%d] = %+v, want %+v", i, got[i], heard[i])
		}
	}
	got[0].Name = "changed"
	if rec.Events()[0].Name != "a" {
		t.Error("Events returned the record itself, not a copy")
	}

	if got, want := rec.Kinds(), []bulwark.Kind{bulwark.KindCall, bulwark.KindRetry, bulwark.KindCall}; !slices.Equal(got, want) {
		t.Errorf("Kinds = %v, want %v", got, want)
	}
	tests := []struct {
		k     bulwark.Kind
		names []string
	}{
		{bulwark.KindCall, []string{"a", "b"}},
		{bulwark.KindRetry, []string{""}},
		{bulwark.KindRejected, nil},
	}
	for _, tt := range tests {
		var names []string
		for _, e := range rec.Of(tt.k) {
			names = append(names, e.Name)
		}
		if !slices.Equal(names, tt.names) {
			t.Errorf("Of(%v) names = %q, want %q", tt.k, names, tt.names)
		}
	}

	rec.Reset()
	if rec.Len() != 0 || rec.Kinds() != nil {
		t.Errorf("after Reset: Len %d, Kinds %v; want none", rec.Len(), rec.Kinds())
	}
}

func TestRecorderConcurrent(t *testing.T) {
	var rec eventlog.Recorder
	const goroutines, each = 8, 100
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				rec.Observe(bulwark.Event{Kind: bulwark.KindCall})
				_ = rec.Len()
			}
		})
	}
	wg.Wait()
	if n := len(rec.Of(bulwark.KindCall)); n != goroutines*each {
		t.Errorf("heard %d events, want %d", n, goroutines*each)
	}
}

func ExampleRecorder() {
	rec := &eventlog.Recorder{}
	var obs bulwark.Observer = rec
	obs.Observe(bulwark.Event{Kind: bulwark.KindRetry, Attempt: 1})
	obs.Observe(bulwark.Event{Kind: bulwark.KindExhausted, Attempt: 2})
	fmt.Println(rec.Kinds(), len(rec.Of(bulwark.KindRetry)))
	// Output: [retry exhausted] 1
}
