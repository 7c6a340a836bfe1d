package fallback

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/eventlog"
)

var (
	errReplica = errors.New("replica down")
	errCache   = errors.New("cache miss")
)

// tries is a policy that runs the operation up to n times until it
// succeeds, and counts the calls it ran.
type tries struct {
	n     int
	calls *int
}

func (p tries) Execute(ctx context.Context, op bulwark.Operation) (v any, err error) {
	for range p.n {
		*p.calls++
		if v, err = op.Call(ctx); err == nil {
			return v, nil
		}
	}
	return v, err
}

func TestNewSequenceConfig(t *testing.T) {
	for _, tt := range []struct {
		cfg  SequenceConfig
		want string
	}{
		{SequenceConfig{}, "Steps is empty"},
		{SequenceConfig{Steps: []Step{{Func: Value(1)}, {Name: "cache"}}}, `Steps[1] ("cache"): Func is required`},
	} {
		if _, err := NewSequence(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewSequence error = %v, want %q", err, tt.want)
		}
	}
	c, err := NewSequence(SequenceConfig{Name: "cfg", Steps: []Step{{Func: Value(1)}, {Name: "b", Func: Value(2)}}})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Snapshot()
	if c.Name() != "cfg" || len(s.Steps) != 2 || s.Steps[0].Name != "step-1" || s.Steps[1].Name != "b" {
		t.Errorf("Name %q, Snapshot %+v", c.Name(), s)
	}
}

func TestSequenceOrder(t *testing.T) {
	var seen []string
	step := func(name string, err error) Func {
		return For(func(_ context.Context, prev error) (string, error) {
			seen = append(seen, name+"<-"+prev.Error())
			if err != nil {
				return "", err
			}
			return name, nil
		})
	}
	tests := []struct {
		name    string
		primary func(context.Context) (string, error)
		steps   []Step
		want    string
		seen    []string
		attempt []int // Attempt of each KindFallback event
	}{
		{"primary answers", ok("primary"), []Step{{Name: "replica", Func: step("replica", nil)}},
			"primary", nil, nil},
		{"secondary answers", fail[string](errDown), []Step{
			{Name: "replica", Func: step("replica", nil)},
			{Name: "static", Func: Value("static")}},
			"replica", []string{"replica<-service down"}, []int{2}},
		{"static answers", fail[string](errDown), []Step{
			{Name: "replica", Func: step("replica", errReplica)},
			{Name: "cache", Func: step("cache", errCache)},
			{Name: "static", Func: Value("static")}},
			"static", []string{"replica<-service down", "cache<-replica down"}, []int{2, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen = nil
			obs := &eventlog.Recorder{}
			c, err := NewSequence(SequenceConfig{Name: "db", Steps: tt.steps, Observer: obs})
			if err != nil {
				t.Fatal(err)
			}
			v, err := bulwark.Get(context.Background(), c, tt.primary)
			if v != tt.want || err != nil {
				t.Errorf("got %q, %v; want %q", v, err, tt.want)
			}
			if !slices.Equal(seen, tt.seen) {
				t.Errorf("steps saw %q, want %q", seen, tt.seen)
			}
			var attempts []int
			for i, e := range obs.Events() {
				attempts = append(attempts, e.Attempt)
				if e.Kind != bulwark.KindFallback || e.Policy != "fallback" || e.Name != "db" {
					t.Errorf("event %d = %+v", i, e)
				}
				wantOutcome := bulwark.OutcomeFailure
				if i == len(tt.attempt)-1 {
					wantOutcome = bulwark.OutcomeSuccess
				}
				if e.Outcome != wantOutcome {
					t.Errorf("event %d outcome %v, want %v", i, e.Outcome, wantOutcome)
				}
			}
			if !slices.Equal(attempts, tt.attempt) {
				t.Errorf("event attempts %v, want %v", attempts, tt.attempt)
			}
		})
	}
}

func TestSequenceAllFail(t *testing.T) {
	c, _ := NewSequence(SequenceConfig{Name: "cfg", Steps: []Step{
		{Name: "replica", Func: For(func(context.Context, error) (int, error) { return 0, errReplica })},
		{Name: "cache", Func: For(func(context.Context, error) (int, error) { return 0, errCache })},
	}})
	v, err := bulwark.Get(context.Background(), c, fail[int](errDown))
	if v != 0 || !errors.Is(err, ErrAllFailed) {
		t.Fatalf("got %v, %v; want ErrAllFailed", v, err)
	}
	for _, e := range []error{errDown, errReplica, errCache} {
		if !errors.Is(err, e) {
			t.Errorf("errors.Is(err, %v) = false", e)
		}
	}
	var ce *SequenceError
	if !errors.As(err, &ce) || ce.Name != "cfg" || len(ce.Errs) != 3 {
		t.Fatalf("SequenceError = %+v", ce)
	}
	want := "fallback: cfg: every step failed: operation: service down; replica: replica down; cache: cache miss"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	s := c.Snapshot()
	if s.Calls != 1 || s.Primary != 0 || s.Exhausted != 1 || s.Steps[0].Failed != 1 || s.Steps[1].Failed != 1 {
		t.Errorf("Snapshot = %+v", s)
	}
}

func TestSequenceStops(t *testing.T) {
	ran := 0
	steps := []Step{{Name: "s", Func: func(context.Context, error) (any, error) { ran++; return "s", nil }}}
	t.Run("not handled", func(t *testing.T) {
		c, _ := NewSequence(SequenceConfig{Steps: steps, IsHandled: func(err error) bool { return !errors.Is(err, errDown) }})
		if _, err := bulwark.Get(context.Background(), c, fail[string](errDown)); !errors.Is(err, errDown) || ran != 0 {
			t.Errorf("err = %v, steps ran %d times", err, ran)
		}
	})
	t.Run("step error not handled", func(t *testing.T) {
		c, _ := NewSequence(SequenceConfig{IsHandled: func(err error) bool { return !errors.Is(err, errReplica) }, Steps: []Step{
			{Name: "replica", Func: func(context.Context, error) (any, error) { return nil, errReplica }},
			steps[0],
		}})
		if _, err := bulwark.Get(context.Background(), c, fail[string](errDown)); err != errReplica || ran != 0 {
			t.Errorf("err = %v, later step ran %d times", err, ran)
		}
	})
	t.Run("caller cancelled", func(t *testing.T) {
		c, _ := NewSequence(SequenceConfig{Steps: steps})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := bulwark.Get(ctx, c, func(ctx context.Context) (string, error) { return "", ctx.Err() })
		if !errors.Is(err, context.Canceled) || ran != 0 {
			t.Errorf("err = %v, steps ran %d times", err, ran)
		}
	})
	t.Run("caller cancelled during a step", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		c, _ := NewSequence(SequenceConfig{Steps: []Step{
			{Func: func(ctx context.Context, _ error) (any, error) { cancel(); return nil, ctx.Err() }},
			steps[0],
		}})
		_, err := bulwark.Get(ctx, c, fail[string](errDown))
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrAllFailed) || ran != 0 {
			t.Errorf("err = %v, later step ran %d times", err, ran)
		}
		if c.Snapshot().Exhausted != 0 {
			t.Error("a cancelled call counted as exhausted")
		}
	})
}

func TestSequenceStepPolicy(t *testing.T) {
	calls := 0
	attempts := 0
	c, _ := NewSequence(SequenceConfig{Steps: []Step{
		{Name: "replica", Policy: tries{n: 3, calls: &calls}, Func: For(func(_ context.Context, prev error) (string, error) {
			attempts++
			if !errors.Is(prev, errDown) {
				return "", errors.New("step did not get the primary's error")
			}
			if attempts < 3 {
				return "", errReplica
			}
			return "replica", nil
		})},
	}})
	v, err := bulwark.Get(context.Background(), c, fail[string](errDown))
	if v != "replica" || err != nil || calls != 3 {
		t.Errorf("got %q, %v after %d tries; want replica after 3", v, err, calls)
	}
	if s := c.Snapshot(); s.Steps[0].Served != 1 || s.Steps[0].Failed != 0 {
		t.Errorf("Snapshot = %+v", s)
	}
}

func TestSequenceTypeMismatch(t *testing.T) {
	c, _ := NewSequence(SequenceConfig{Steps: []Step{{Func: Value(42)}}})
	_, err := bulwark.Get(context.Background(), c, fail[string](errDown))
	var rte *bulwark.ResultTypeError
	if !errors.As(err, &rte) {
		t.Errorf("err = %v, want a *bulwark.ResultTypeError", err)
	}
}

func BenchmarkSequencePrimary(b *testing.B) {
	c, _ := NewSequence(SequenceConfig{Steps: []Step{{Func: Value("static")}}})
	ctx := context.Background()
	fn := ok(7) // a small int boxes without allocating: what is measured is the chain
	b.ReportAllocs()
	for b.Loop() {
		bulwark.Get(ctx, c, fn)
	}
}
