package catalog

import (
	"regexp"
	"slices"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/adaptive"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/leakcheck"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/recovery"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

var promName = regexp.MustCompile(`^bulwark_[a-z]+(_[a-z]+)*$`)

func TestNamesAreUniqueAndWellFormed(t *testing.T) {
	seen := map[string]string{}
	add := func(name, what string) {
		t.Helper()
		if !promName.MatchString(name) {
			t.Errorf("%s: %q is not a snake-case bulwark_ name", what, name)
		}
		if prev, ok := seen[name]; ok {
			t.Errorf("%s and %s are both named %s", prev, what, name)
		}
		seen[name] = what
	}
	for _, m := range EventMetrics() {
		add(m.PromName(), "event metric "+m.OTelName())
		if m.Help == "" || m.Unit == "" {
			t.Errorf("%s has no help or unit", m.PromName())
		}
	}
	for _, k := range Kinds {
		if k.States != nil {
			add(k.StatePromName(), k.Policy+" state")
		}
		for _, f := range k.Figures {
			add(k.PromName(f), k.Policy+" figure "+f.Name)
			if f.Help == "" || f.Unit == "" {
				t.Errorf("%s has no help or unit", k.PromName(f))
			}
			if (f.Label == "") != (len(f.Values) == 0) {
				t.Errorf("%s: Label %q with %d values", k.PromName(f), f.Label, len(f.Values))
			}
		}
		for _, s := range k.Unready {
			if !slices.Contains(k.States, s) {
				t.Errorf("%s: unready state %q is not one of its states", k.Policy, s)
			}
		}
	}
}

func TestKindRowsMatchTheirLabels(t *testing.T) {
	for p, e := range Policies {
		for _, k := range e.Kinds {
			n := len(k.Values)
			if k.ByOutcome {
				n++
				if k.Metric.Labels[len(k.Metric.Labels)-1] != "outcome" {
					t.Errorf("%s %v: ByOutcome but the last label of %s is not outcome", p, k.Kind, k.Metric.PromName())
				}
			}
			if n != len(k.Metric.Labels) {
				t.Errorf("%s %v: %d label values for %s, which has labels %q", p, k.Kind, n, k.Metric.PromName(), k.Metric.Labels)
			}
			if k.Metric.Policy != p {
				t.Errorf("%s %v counts in %s, another policy's metric", p, k.Kind, k.Metric.PromName())
			}
		}
	}
}

func TestSlots(t *testing.T) {
	slots := Policies["fallback"].Slots()
	if s := slots[bulwark.KindFallback][bulwark.OutcomeSuccess]; s == nil || s.Metric.Name != "served" {
		t.Errorf("fallback success: %+v, want served", s)
	}
	if s := slots[bulwark.KindFallback][bulwark.OutcomeFailure]; s == nil || s.Metric.Name != "failed" {
		t.Errorf("fallback failure: %+v, want failed", s)
	}
	if s := slots[bulwark.KindFallback][0]; s != nil {
		t.Errorf("fallback without outcome: %+v, want nil (counted by Other)", s)
	}
	slots = Policies["breaker"].Slots()
	if s := slots[bulwark.KindCall][bulwark.OutcomeIgnored]; s == nil || !slices.Equal(s.Values, []string{"ignored"}) {
		t.Errorf("breaker ignored call: %+v", s)
	}
	if s := slots[bulwark.KindRejected][bulwark.OutcomeSuccess]; s == nil || !slices.Equal(s.Values, []string{"rejected"}) {
		t.Errorf("breaker rejection: %+v", s)
	}
	if s := slots[bulwark.KindCall][0]; s != nil {
		t.Errorf("breaker call without outcome: %+v, want nil", s)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestOfReadsEveryKind(t *testing.T) {
	policies := []any{
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
	covered := map[*Kind]bool{}
	for _, p := range policies {
		src, err := Of(p)
		if err != nil {
			t.Errorf("Of(%T): %v", p, err)
			continue
		}
		if !slices.Contains(Kinds, src.Kind) {
			t.Errorf("Of(%T): kind %s is not in Kinds", p, src.Kind.Policy)
		}
		covered[src.Kind] = true
		v := make([]float64, src.Kind.Width()) // Read must fill exactly this many
		state := src.Read(v)
		if (state != "") != (src.Kind.States != nil) || (state != "" && !slices.Contains(src.Kind.States, state)) {
			t.Errorf("Of(%T).Read: state %q, want one of %q", p, state, src.Kind.States)
		}
	}
	for _, k := range Kinds {
		if !covered[k] {
			t.Errorf("kind %s is not tested", k.Policy)
		}
	}
	if _, err := Of(42); err == nil {
		t.Error("Of(42): no error")
	}
}

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestDuplicate(t *testing.T) {
	a := Source{Kind: breakerKind, Name: "db"}
	b := Source{Kind: breakerKind, Name: "api"}
	c := Source{Kind: retryKind, Name: "db"} // same name, another kind
	for _, tt := range []struct {
		name      string
		have, add []Source
		want      string // the duplicate's name, "" for none
	}{
		{"none", []Source{a}, []Source{b, c}, ""},
		{"against have", []Source{a, b}, []Source{c, b}, "api"},
		{"within add", nil, []Source{a, b, a}, "db"},
		{"empty", nil, nil, ""},
	} {
		d, ok := Duplicate(tt.have, tt.add)
		if got := map[bool]string{true: d.Name}[ok]; got != tt.want || (ok && d.Kind == nil) {
			t.Errorf("%s: Duplicate = %q, %v; want %q", tt.name, d.Name, ok, tt.want)
		}
	}
}

func TestWithout(t *testing.T) {
	b1 := must(breaker.New(breaker.Config{Name: "db"}))
	b2 := must(breaker.New(breaker.Config{Name: "db"})) // made again, same name
	r := must(retry.New(retry.Config{Name: "db"}))
	have, err := OfAll([]any{b1, r})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		remove []any
		want   []any
	}{
		{"by identity, not name", []any{b2}, []any{b1, r}},
		{"one", []any{b1}, []any{r}},
		{"all", []any{r, b1}, nil},
		{"not a policy", []any{42, map[string]int{}}, []any{b1, r}},
	} {
		var got []any
		for _, s := range Without(have, tt.remove) {
			got = append(got, s.Policy)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
