package exporter

import (
	"errors"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/adaptive"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/catalog"
	"github.com/bulwark-go/bulwark/internal/leakcheck"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/recovery"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// builtins returns one of each of bulwark's watchable policies.
func builtins() []any {
	return []any{
		must(adaptive.New(adaptive.Config{Name: "a"})),
		must(breaker.New(breaker.Config{Name: "b"})),
		must(bulkhead.New(bulkhead.Config{Name: "bh", MaxConcurrent: 3})),
		must(chaos.New(chaos.Config{Name: "c"})),
		must(fallback.New(fallback.Config{Name: "f", Func: fallback.Value(1)})),
		must(hedge.New(hedge.Config{Name: "h", Delay: 1})),
		must(ratelimit.New(ratelimit.Config{Name: "rl", Rate: 10, Burst: 1})),
		must(ratelimit.NewKeyed(ratelimit.KeyedConfig{Config: ratelimit.Config{Name: "rk", Rate: 10, Burst: 1}})),
		must(recovery.New(recovery.Config{Name: "rc"})),
		must(retry.New(retry.Config{Name: "r"})),
		must(timeout.New(timeout.Config{Name: "t", Duration: 1})),
	}
}

func TestBuiltinsAreWatchable(t *testing.T) {
	for _, p := range builtins() {
		src, err := Of(p)
		if err != nil {
			t.Errorf("Of(%T): %v", p, err)
			continue
		}
		if src.Desc != src.Policy.Describe() {
			t.Errorf("%T: Describe returns a new Description on each call", p)
		}
		// Collect must fill exactly Width values: poison one more.
		buf := make([]float64, src.Desc.Width()+1)
		for i := range buf {
			buf[i] = -7
		}
		state := src.Policy.Collect(buf[:src.Desc.Width()])
		if (state != "") != (src.Desc.States != nil) || (state != "" && !slices.Contains(src.Desc.States, state)) {
			t.Errorf("%T.Collect: state %q, want one of %q", p, state, src.Desc.States)
		}
		for i, v := range buf[:src.Desc.Width()] {
			if v == -7 {
				t.Errorf("%T.Collect left value %d unset", p, i)
			}
		}
		if n := testing.AllocsPerRun(10, func() { src.Policy.Collect(buf[:src.Desc.Width()]) }); n != 0 {
			t.Errorf("%T.Collect: %v allocations, want 0", p, n)
		}
	}
}

var promName = regexp.MustCompile(`^bulwark_[a-z]+(_[a-z]+)*$`)

// TestNamesAreUniqueAndWellFormed checks the names of the built-in policies'
// figures against each other and against the metrics counted from events.
func TestNamesAreUniqueAndWellFormed(t *testing.T) {
	seen := map[string]string{}
	add := func(name, what string) {
		t.Helper()
		if !promName.MatchString(name) {
			t.Errorf("%s: %q is not a snake-case bulwark_ name", what, name)
		}
		if prev, ok := seen[name]; ok && prev != what {
			t.Errorf("%s and %s are both named %s", prev, what, name)
		}
		seen[name] = what
	}
	for _, m := range catalog.EventMetrics() {
		add(m.PromName(), "event metric "+m.OTelName())
	}
	for _, p := range builtins() {
		d := p.(bulwark.Watchable).Describe()
		if d.States != nil {
			add(StatePromName(d), d.Policy+" state")
		}
		for _, f := range d.Figures {
			add(PromName(d, f), d.Policy+" figure "+f.Name)
			if f.Help == "" || f.Unit == "" {
				t.Errorf("%s has no help or unit", PromName(d, f))
			}
		}
	}
}

// custom is a program's own policy.
type custom struct {
	name  string
	depth float64
}

var customDesc = &bulwark.Description{
	Policy: "queue",
	States: []string{"draining", "filling"},
	Figures: []bulwark.Figure{
		{Name: "depth", Unit: "{item}", Help: "Items queued."},
		{Name: "drops", Unit: "{item}", Counter: true, Label: "why", Values: []string{"full", "stale"}, Help: "Items dropped."},
	},
}

func (c *custom) Name() string                   { return c.name }
func (c *custom) Describe() *bulwark.Description { return customDesc }
func (c *custom) Collect(v []float64) string {
	v[0], v[1], v[2] = c.depth, 1, math.NaN()
	return "filling"
}

type valueType struct{ s []string }

func (valueType) Name() string                   { return "v" }
func (valueType) Describe() *bulwark.Description { return customDesc }
func (valueType) Collect([]float64) string       { return "" }

type described struct {
	custom
	d *bulwark.Description
}

func (d *described) Describe() *bulwark.Description { return d.d }

func TestOfRejects(t *testing.T) {
	for _, tt := range []struct {
		name string
		p    any
		want string
	}{
		{"nil", nil, "policy is nil"},
		{"not watchable", 42, "int does not implement bulwark.Watchable"},
		{"not comparable", valueType{}, "not comparable"},
		{"nil description", &described{}, "Describe returned nil"},
		{"bad policy", &described{d: &bulwark.Description{Policy: "My Queue"}}, `Policy "My Queue" is not a snake-case name`},
		{"unready not a state", &described{d: &bulwark.Description{Policy: "q", States: []string{"a"}, Unready: []string{"b"}}}, `unready state "b"`},
		{"bad figure", &described{d: &bulwark.Description{Policy: "q", Figures: []bulwark.Figure{{Name: "Depth"}}}}, `Figures[0].Name "Depth"`},
		{"twice", &described{d: &bulwark.Description{Policy: "q", Figures: []bulwark.Figure{{Name: "d"}, {Name: "d"}}}}, `two figures are named "d"`},
		{"label without values", &described{d: &bulwark.Description{Policy: "q", Figures: []bulwark.Figure{{Name: "d", Label: "x"}}}}, "give both or neither"},
		{"label name", &described{d: &bulwark.Description{Policy: "q", Figures: []bulwark.Figure{{Name: "d", Label: "name", Values: []string{"a"}}}}}, `Label "name"`},
		{"state figure", &described{d: &bulwark.Description{Policy: "q", States: []string{"a"}, Figures: []bulwark.Figure{{Name: "state"}}}}, "clash with the state gauge"},
	} {
		_, err := Of(tt.p)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Of = %v; want an error with %q", tt.name, err, tt.want)
		}
	}
	if _, err := Of(&custom{name: "q"}); err != nil {
		t.Errorf("Of(custom): %v", err)
	}
}

func TestOfAll(t *testing.T) {
	r := must(retry.New(retry.Config{Name: "r"}))
	srcs, err := OfAll([]any{r, r})
	if err != nil || len(srcs) != 2 || srcs[1].Name != "r" || srcs[1].Desc.Policy != "retry" {
		t.Fatalf("OfAll = %+v, %v; want two retry sources", srcs, err)
	}
	for _, bad := range [][]any{{r, 42}, {r, r, nil}} {
		srcs, err := OfAll(bad)
		want := "policy " + string(rune('0'+len(bad)-1)) + ": "
		if srcs != nil || err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("OfAll(%v) = %v, %v; want an error starting %q", bad, srcs, err, want)
		}
	}
}

func entries(t *testing.T, policies ...any) []Entry[int] {
	t.Helper()
	srcs, err := OfAll(policies)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]Entry[int], len(srcs))
	for i, s := range srcs {
		out[i] = Entry[int]{Source: s, Data: i}
	}
	return out
}

func TestSetAddRefusesDuplicates(t *testing.T) {
	errWatched := errors.New("already watched")
	a := must(breaker.New(breaker.Config{Name: "db"}))
	b := must(breaker.New(breaker.Config{Name: "api"}))
	c := must(retry.New(retry.Config{Name: "db"})) // same name, another kind
	a2 := must(breaker.New(breaker.Config{Name: "db"}))
	for _, tt := range []struct {
		name      string
		have, add []any
		want      string // the duplicate, "" for none
	}{
		{"none", []any{a}, []any{b, c}, ""},
		{"against have", []any{a, b}, []any{c, b}, `breaker "api"`},
		{"within add", nil, []any{a, b, a2}, `breaker "db"`},
		{"empty", nil, nil, ""},
	} {
		var s Set[int]
		if err := s.Add(errWatched, entries(t, tt.have...)); err != nil {
			t.Fatal(err)
		}
		err := s.Add(errWatched, entries(t, tt.add...))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: Add = %v", tt.name, err)
		case tt.want != "" && (!errors.Is(err, errWatched) || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: Add = %v; want errWatched naming %s", tt.name, err, tt.want)
		case tt.want != "" && len(s.List()) != len(tt.have):
			t.Errorf("%s: a refused Add kept %d entries, want %d", tt.name, len(s.List()), len(tt.have))
		}
	}
}

func TestSetRemoveByIdentity(t *testing.T) {
	b1 := must(breaker.New(breaker.Config{Name: "db"}))
	b2 := must(breaker.New(breaker.Config{Name: "db"})) // made again, same name
	r := must(retry.New(retry.Config{Name: "db"}))
	for _, tt := range []struct {
		name   string
		remove []any
		want   []any
	}{
		{"by identity, not name", []any{b2}, []any{b1, r}},
		{"one", []any{b1}, []any{r}},
		{"all", []any{r, b1}, nil},
		{"not a policy", []any{42, map[string]int{}, valueType{}}, []any{b1, r}},
	} {
		var s Set[int]
		if err := s.Add(errors.New("dup"), entries(t, b1, r)); err != nil {
			t.Fatal(err)
		}
		s.Remove(tt.remove)
		var got []any
		for _, e := range s.List() {
			got = append(got, e.Policy)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestKindsMakesOncePerDescription(t *testing.T) {
	var k Kinds[string]
	made := 0
	mk := func(d *bulwark.Description) (string, error) { made++; return d.Policy, nil }
	for range 3 {
		if v, err := k.Get(customDesc, mk); err != nil || v != "queue" {
			t.Fatalf("Get = %q, %v", v, err)
		}
	}
	if made != 1 {
		t.Errorf("mk called %d times, want 1", made)
	}
	other := &bulwark.Description{Policy: "queue"}
	if _, err := k.Get(other, mk); err == nil || !strings.Contains(err.Error(), `two Descriptions of policy "queue"`) {
		t.Errorf("Get(another description of queue) = %v; want an error", err)
	}
	fail := errors.New("boom")
	if _, err := k.Get(&bulwark.Description{Policy: "x"}, func(*bulwark.Description) (string, error) { return "", fail }); !errors.Is(err, fail) {
		t.Errorf("Get with a failing mk = %v", err)
	}
	if got := k.All(); !slices.Equal(got, []string{"queue"}) {
		t.Errorf("All = %q; a failed make must not be kept", got)
	}
}

func TestIndexMakesEachSeriesOnce(t *testing.T) {
	var mu sync.Mutex
	made := map[string]int{}
	x := NewIndex(func(policy, name string) *string {
		mu.Lock()
		defer mu.Unlock()
		made[policy+"/"+name]++
		s := policy + "/" + name
		return &s
	})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				p, n := []string{"breaker", "retry"}[(g+i)%2], []string{"a", "b", "c"}[i%3]
				if got := *x.Get(p, n); got != p+"/"+n {
					t.Errorf("Get(%s, %s) = %s", p, n, got)
					return
				}
			}
		})
	}
	wg.Wait()
	for k, n := range made {
		if n != 1 {
			t.Errorf("%s made %d times", k, n)
		}
	}
	if len(made) != 6 {
		t.Errorf("made %d series, want 6", len(made))
	}
	x.Get("breaker", "a")
	if n := testing.AllocsPerRun(100, func() { x.Get("breaker", "a") }); n != 0 {
		t.Errorf("Get: %v allocations, want 0", n)
	}
}
