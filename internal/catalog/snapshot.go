// Package catalog lists the metrics bulwark exports: those counted from
// policy events and those read from policy Snapshots. The Prometheus,
// OpenTelemetry and health packages all work from it, so they export the same
// figures under matching names.
package catalog

import (
	"fmt"
	"slices"
)

// A Figure describes one figure read from a policy's Snapshot.
type Figure struct {
	// Name is the figure's snake-case name. The Prometheus metric is
	// bulwark_<policy>_<Name>, with _seconds if Unit is "s" and _total for
	// a counter; the OpenTelemetry instrument is bulwark.<policy>.<Name>;
	// the health report's JSON key is Name (with _seconds if Unit is "s").
	Name string
	Help string
	// Unit is the UCUM unit for OpenTelemetry: "1" for a ratio or a
	// dimensionless number, "s" for seconds, "{call}" for a count of calls.
	Unit string
	// Counter marks a count since the policy was made, which only grows;
	// otherwise the figure is a gauge.
	Counter bool
	// Label, if set, splits the figure into one value per element of
	// Values, labelled Label.
	Label  string
	Values []string
}

// Width is the number of values the figure has: len(Values), or 1.
func (f Figure) Width() int {
	if f.Label == "" {
		return 1
	}
	return len(f.Values)
}

// A Kind describes what can be read from one type of policy.
type Kind struct {
	Policy string   // the policy's package name, as in bulwark.Event.Policy
	States []string // every state the policy can be in, or nil if it has none
	// Unready lists the states in which a policy marked critical makes a
	// service unready.
	Unready []string
	Figures []Figure
}

// Width is the number of values a Source of this kind reads.
func (k *Kind) Width() int {
	n := 0
	for _, f := range k.Figures {
		n += f.Width()
	}
	return n
}

// IsUnready reports whether state is one of k.Unready.
func (k *Kind) IsUnready(state string) bool { return slices.Contains(k.Unready, state) }

// A Source reads one policy instance.
type Source struct {
	Kind *Kind
	Name string
	// Policy is the policy read, which Without compares.
	Policy any
	// Read stores the current values of Kind.Figures, in order, in values,
	// which has Kind.Width() elements, and returns the current state (""
	// if the kind has no states). A figure that does not apply to this
	// instance (the tokens of a keyed rate limiter) is NaN, and exporters
	// leave it out.
	Read func(values []float64) (state string)
}

// Kinds lists every kind of policy that Of can read, for collectors that
// describe their metrics up front.
var Kinds = []*Kind{adaptiveKind, breakerKind, bulkheadKind, chaosKind, fallbackKind, hedgeKind, ratelimitKind, recoveryKind, retryKind, timeoutKind}

// Of returns a Source reading p, which must be one of bulwark's policies
// (a *breaker.Breaker, a *bulkhead.Bulkhead, ...).
func Of(p any) (Source, error) {
	if p == nil {
		return Source{}, fmt.Errorf("policy is nil")
	}
	if src, ok := of(p); ok {
		src.Policy = p
		return src, nil
	}
	return Source{}, fmt.Errorf("%T is not a bulwark policy with a known Snapshot", p)
}

// OfAll returns the Sources of policies, as [Of] does for each; an error
// names the first policy, by index, that is not one of bulwark's.
func OfAll(policies []any) ([]Source, error) {
	srcs := make([]Source, 0, len(policies))
	for i, p := range policies {
		src, err := Of(p)
		if err != nil {
			return nil, fmt.Errorf("policy %d: %w", i, err)
		}
		srcs = append(srcs, src)
	}
	return srcs, nil
}

// Duplicate returns the first source of add whose kind and name are those of
// a source in have or of an earlier one in add: watching both would report
// the same series twice. The exporters and the health handler refuse it.
func Duplicate(have, add []Source) (Source, bool) {
	for i, a := range add {
		for _, lists := range [2][]Source{have, add[:i]} {
			for _, e := range lists {
				if e.Kind == a.Kind && e.Name == a.Name {
					return a, true
				}
			}
		}
	}
	return Source{}, false
}

// Without returns the sources of have that read none of policies (compared
// by identity, not name: a breaker made again under the name of one that
// was forgotten is another policy), in order, in a new slice. The
// exporters' and the health handler's Unwatch use it.
func Without(have []Source, policies []any) []Source {
	out := make([]Source, 0, len(have))
	for _, s := range have {
		if !slices.Contains(policies, s.Policy) {
			out = append(out, s)
		}
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// PromName returns the Prometheus name of figure f of kind k.
func (k *Kind) PromName(f Figure) string {
	n := "bulwark_" + k.Policy + "_" + f.Name
	if f.Unit == "s" {
		n += "_seconds"
	}
	if f.Counter {
		n += "_total"
	}
	return n
}

// OTelName returns the OpenTelemetry instrument name of figure f of kind k.
func (k *Kind) OTelName(f Figure) string { return "bulwark." + k.Policy + "." + f.Name }

// StatePromName returns the Prometheus name of the state gauge of kind k.
func (k *Kind) StatePromName() string { return "bulwark_" + k.Policy + "_state" }

// StateOTelName returns the OpenTelemetry name of the state gauge of kind k.
func (k *Kind) StateOTelName() string { return "bulwark." + k.Policy + ".state" }
