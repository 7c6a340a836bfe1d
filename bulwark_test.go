package bulwark_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// tracer is a policy that records entry and exit in a shared log.
type tracer struct {
	name string
	log  *[]string
}

func (p tracer) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	*p.log = append(*p.log, p.name+">")
	v, err := op.Call(ctx)
	*p.log = append(*p.log, "<"+p.name)
	return v, err
}

func TestChainOrderIsOutermostFirst(t *testing.T) {
	var log []string
	a, b, c := tracer{"a", &log}, tracer{"b", &log}, tracer{"c", &log}
	for _, tc := range []struct {
		name string
		p    bulwark.Policy
	}{
		{"flat", bulwark.Chain(a, b, c)},
		{"nested-left", bulwark.Chain(bulwark.Chain(a, b), c)},
		{"nested-right", bulwark.Chain(a, bulwark.Chain(b, c))},
	} {
		log = log[:0]
		got, err := bulwark.Get(context.Background(), tc.p, func(context.Context) (string, error) {
			log = append(log, "fn")
			return "ok", nil
		})
		if err != nil || got != "ok" {
			t.Fatalf("%s: got %q, %v", tc.name, got, err)
		}
		if want := "a> b> c> fn <c <b <a"; strings.Join(log, " ") != want {
			t.Errorf("%s: order %q, want %q", tc.name, strings.Join(log, " "), want)
		}
	}
}

func TestChainLongerThanInlineSteps(t *testing.T) {
	var log []string
	var ps []bulwark.Policy
	var want []string
	for i := range 12 {
		n := fmt.Sprint(i)
		ps = append(ps, tracer{n, &log})
		want = append(want, n+">")
	}
	_, err := bulwark.Get(context.Background(), bulwark.Chain(ps...), func(context.Context) (int, error) { return 1, nil })
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(log[:12], " "); got != strings.Join(want, " ") {
		t.Errorf("got %q", got)
	}
	if len(log) != 24 {
		t.Errorf("got %d log entries, want 24", len(log))
	}
}

func TestChainEmptyAndSingle(t *testing.T) {
	got, err := bulwark.Get(context.Background(), bulwark.Chain(), func(context.Context) (int, error) { return 7, nil })
	if got != 7 || err != nil {
		t.Errorf("empty chain: %v, %v", got, err)
	}
	var log []string
	p := tracer{"x", &log}
	if bulwark.Chain(p) != bulwark.Policy(p) {
		t.Error("Chain(p) should return p")
	}
	if n := len(bulwark.Policies(bulwark.Chain(p, p, bulwark.Chain(p, p)))); n != 4 {
		t.Errorf("Policies: %d, want 4", n)
	}
}

func TestChainNilPolicyPanicsWithPosition(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "policy 1 of 2 is nil") {
			t.Errorf("recovered %v", r)
		}
	}()
	bulwark.Chain(bulwark.Chain(), nil)
}

// constPolicy replaces every result with a fixed value, as a misconfigured
// fallback would.
type constPolicy struct{ v any }

func (p constPolicy) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	_, err := op.Call(ctx)
	return p.v, err
}

func TestGetReportsMistypedResult(t *testing.T) {
	sentinel := errors.New("boom")
	_, err := bulwark.Get(context.Background(), constPolicy{"a string"}, func(context.Context) (int, error) { return 0, sentinel })
	var rte *bulwark.ResultTypeError
	if !errors.As(err, &rte) {
		t.Fatalf("err = %v, want *ResultTypeError", err)
	}
	if rte.Want.String() != "int" || rte.Got.String() != "string" || !errors.Is(err, sentinel) {
		t.Errorf("got %v (want int, got string, wrapping boom)", err)
	}
	// A nil value is the zero T, whatever T is.
	v, err := bulwark.Get(context.Background(), constPolicy{nil}, func(context.Context) (*int, error) { return new(int), nil })
	if v != nil || err != nil {
		t.Errorf("nil result: %v, %v", v, err)
	}
}

func TestRun(t *testing.T) {
	want := errors.New("x")
	if err := bulwark.Run(context.Background(), bulwark.Chain(), func(context.Context) error { return want }); err != want {
		t.Errorf("Run = %v", err)
	}
}

// race runs op n times at once and returns the first result to arrive, the
// way a hedging policy would. The results are returned, never captured.
type race struct{ n int }

func (p race) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	type result struct {
		v   any
		err error
	}
	ch := make(chan result, p.n)
	for range p.n {
		go func() {
			v, err := op.Call(ctx)
			ch <- result{v, err}
		}()
	}
	first := <-ch
	for range p.n - 1 {
		<-ch
	}
	return first.v, first.err
}

// TestConcurrentAttemptsShareNoResult runs attempts that finish together
// through a chain; under -race it proves the result path writes no shared
// variable.
func TestConcurrentAttemptsShareNoResult(t *testing.T) {
	var log []string
	var mu sync.Mutex
	start := make(chan struct{})
	p := bulwark.Chain(race{4}, tracerLocked{&mu, tracer{"t", &log}})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range 50 {
				want := g*1000 + i
				got, err := bulwark.Get(context.Background(), p, func(context.Context) (int, error) { return want, nil })
				if err != nil || got != want {
					t.Errorf("got %d, %v; want %d", got, err, want)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
}

type tracerLocked struct {
	mu *sync.Mutex
	t  tracer
}

func (p tracerLocked) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	p.mu.Lock()
	*p.t.log = (*p.t.log)[:0]
	p.mu.Unlock()
	return op.Call(ctx)
}

func TestObservers(t *testing.T) {
	var got []string
	rec := func(tag string) bulwark.Observer {
		return bulwark.ObserverFunc(func(e bulwark.Event) { got = append(got, tag+":"+e.Kind.String()) })
	}
	if bulwark.Observers() != nil || bulwark.Observers(nil, nil) != nil {
		t.Error("Observers of nothing should be nil")
	}
	one := rec("a")
	o := bulwark.Observers(one, nil, bulwark.Observers(rec("b"), rec("c")))
	o.Observe(bulwark.Event{Kind: bulwark.KindStateChange})
	if want := "a:state_change b:state_change c:state_change"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
	if bulwark.Kind(200).String() != "unknown" || bulwark.OutcomeIgnored.String() != "ignored" {
		t.Error("names")
	}
}

func TestCallerDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	if bulwark.CallerDone(ctx, context.Canceled) {
		t.Error("live context: not the caller's cancellation")
	}
	cancel()
	if !bulwark.CallerDone(ctx, fmt.Errorf("dial: %w", context.Canceled)) {
		t.Error("wrapped cancellation of a done context is the caller's")
	}
	if bulwark.CallerDone(ctx, errors.New("refused")) || bulwark.CallerDone(ctx, nil) {
		t.Error("other errors are not")
	}
}

func TestGetDoesNotAllocateForPointerResults(t *testing.T) {
	x := new(int)
	fn := func(context.Context) (*int, error) { return x, nil }
	p := bulwark.Chain()
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { bulwark.Get(ctx, p, fn) }); n != 0 {
		t.Errorf("Get allocates %v times", n)
	}
}
