package exporter

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"

	"github.com/bulwark-go/bulwark"
)

// A Source is one watched policy.
type Source struct {
	Desc   *bulwark.Description
	Name   string
	Policy bulwark.Watchable
}

// snake is the form of a Description's Policy and a Figure's Name and Label,
// which make metric names and labels.
var snake = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// Of returns the Source of p, which must implement [bulwark.Watchable] with
// a valid Description and be comparable (Unwatch finds it by identity).
func Of(p any) (Source, error) {
	if p == nil {
		return Source{}, fmt.Errorf("policy is nil")
	}
	w, ok := p.(bulwark.Watchable)
	if !ok {
		return Source{}, fmt.Errorf("%T does not implement bulwark.Watchable", p)
	}
	if !reflect.TypeOf(p).Comparable() {
		return Source{}, fmt.Errorf("%T is not comparable; watch a pointer to it", p)
	}
	d := w.Describe()
	if err := Check(d); err != nil {
		return Source{}, fmt.Errorf("%T: %w", p, err)
	}
	return Source{Desc: d, Name: w.Name(), Policy: w}, nil
}

// Check returns an error naming what is wrong with d, or nil.
func Check(d *bulwark.Description) error {
	if d == nil {
		return fmt.Errorf("Describe returned nil")
	}
	if !snake.MatchString(d.Policy) {
		return fmt.Errorf("Description.Policy %q is not a snake-case name", d.Policy)
	}
	for _, s := range d.Unready {
		if !slices.Contains(d.States, s) {
			return fmt.Errorf("%s: unready state %q is not one of its States %q", d.Policy, s, d.States)
		}
	}
	seen := map[string]bool{}
	for i, f := range d.Figures {
		if !snake.MatchString(f.Name) {
			return fmt.Errorf("%s: Figures[%d].Name %q is not a snake-case name", d.Policy, i, f.Name)
		}
		if seen[f.Name] {
			return fmt.Errorf("%s: two figures are named %q", d.Policy, f.Name)
		}
		seen[f.Name] = true
		if f.Name == "state" && d.States != nil {
			return fmt.Errorf("%s: figure %q would clash with the state gauge", d.Policy, f.Name)
		}
		if (f.Label == "") != (len(f.Values) == 0) {
			return fmt.Errorf("%s: figure %s has Label %q and %d Values; give both or neither", d.Policy, f.Name, f.Label, len(f.Values))
		}
		if f.Label != "" && (!snake.MatchString(f.Label) || f.Label == "name") {
			return fmt.Errorf("%s: figure %s: Label %q is not a snake-case name other than \"name\"", d.Policy, f.Name, f.Label)
		}
	}
	return nil
}

// OfAll returns the Sources of policies, as [Of] does for each; an error
// names the first policy, by index, that cannot be watched.
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

// Read collects src's current values into buf, grown as need be, and
// returns them with the state.
func (src Source) Read(buf []float64) ([]float64, string) {
	n := src.Desc.Width()
	if cap(buf) < n {
		buf = make([]float64, n)
	}
	buf = buf[:n]
	return buf, src.Policy.Collect(buf)
}
