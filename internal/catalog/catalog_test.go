package catalog

import (
	"regexp"
	"slices"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/leakcheck"
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

func TestMain(m *testing.M) { leakcheck.Main(m) }

// Every row's kind has a slot in the exporters' tables, including those
// other packages register (lockorder's).
func TestKindsFitTheTables(t *testing.T) {
	for p, e := range Policies {
		for _, k := range e.Kinds {
			if int(k.Kind) >= NumKinds || k.Kind.String() == "unknown" {
				t.Errorf("%s: kind %d (%v) is past NumKinds %d or not registered", p, k.Kind, k.Kind, NumKinds)
			}
		}
	}
}
