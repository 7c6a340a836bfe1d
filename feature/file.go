package feature

import (
	"errors"
	"strings"
)

// File is the decoded, not yet validated content of a flag file. A decoder
// (JSON by default, YAML through the featureyaml package) fills it in and
// [Compile] validates it. The JSON and YAML field names are the same.
type File struct {
	// Kill, when true, is the global kill switch: every flag evaluates to
	// its off value with reason [ReasonDisabled].
	Kill bool `json:"kill,omitempty" yaml:"kill,omitempty"`
	// Flags lists the flags. A name may appear once.
	Flags []Spec `json:"flags" yaml:"flags"`
	// Lines maps the path of a key in the file ("kill", "flags[2]",
	// "flags[2].rollout", "flags[2].rules[0].in") to its line, from 1, so
	// that Compile's errors say where each problem is. DecodeJSON and
	// featureyaml.Decode fill it in. Default: nil, no lines.
	Lines map[string]int `json:"-" yaml:"-"`
}

// Spec describes one flag as written in the file.
type Spec struct {
	// Name identifies the flag: letters, digits, '.', '_' and '-', starting
	// with a letter or digit. Required.
	Name string `json:"name" yaml:"name"`
	// Type is "bool", "string" or "number". Required.
	Type string `json:"type" yaml:"type"`
	// Value is the flag's value: what everyone gets when there is no rule
	// and no rollout, and what the rollout's share gets. Required; its type
	// must match Type.
	Value any `json:"value" yaml:"value"`
	// Off is the value of a killed flag and of the keys outside the
	// rollout. Default: false, "" or 0 according to Type.
	Off any `json:"off,omitempty" yaml:"off,omitempty"`
	// Rollout, when set, is the percentage (0 to 100, fractions allowed) of
	// target keys that get Value; the others get Off. Nil means no rollout.
	Rollout *float64 `json:"rollout,omitempty" yaml:"rollout,omitempty"`
	// Rules are targeting rules, tried in order before the rollout; the
	// first that matches decides the value.
	Rules []Rule `json:"rules,omitempty" yaml:"rules,omitempty"`
	// Kill, when true, forces Off regardless of rules, rollout and
	// environment overrides.
	Kill bool `json:"kill,omitempty" yaml:"kill,omitempty"`
	// Description is free text for people; it does not affect evaluation.
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// Rule is a targeting rule: it matches a target whose attribute Attribute
// equals one of In, and then serves Value.
type Rule struct {
	// Attribute names the target attribute to look at. Required.
	Attribute string `json:"attribute" yaml:"attribute"`
	// In lists the attribute values that match. Required, not empty.
	In []string `json:"in" yaml:"in"`
	// Value is served on a match. Default: the flag's Value.
	Value any `json:"value,omitempty" yaml:"value,omitempty"`
	// Variant names the rule in evaluation results. Default: "rule-N",
	// where N counts rules from 1.
	Variant string `json:"variant,omitempty" yaml:"variant,omitempty"`
}

// Parse decodes a JSON flag file with [DecodeJSON] and validates it with
// [Compile], reporting the problems of both in one error. It applies no
// environment overrides.
func Parse(data []byte) (*Set, error) {
	f, err := DecodeJSON(data)
	if f == nil {
		return nil, err
	}
	return compileDecoded(f, err, nil)
}

// compileDecoded compiles f, which a decoder returned with decErr (nil, or
// the problems it found while decoding the rest), and returns every
// problem of both together.
func compileDecoded(f *File, decErr error, env envOverrides) (*Set, error) {
	s, err := compile(f, env)
	if decErr == nil {
		return s, err
	}
	probs := problems(decErr)
	if probs == nil { // not the problems of a known decoder: keep it whole
		if err == nil {
			return nil, decErr
		}
		return nil, errors.Join(decErr, err)
	}
	for _, p := range problems(err) {
		if !covered(p, probs) {
			probs = append(probs, p)
		}
	}
	return nil, joinProblems(probs)
}

// covered reports whether Compile's problem p follows from one the decoder
// found: the same field (a name of the wrong type is then also missing),
// or a field inside one that could not be decoded (a flag or a rule that
// is not an object).
func covered(p *ValidationError, decoded []*ValidationError) bool {
	for _, d := range decoded {
		if d.Index == p.Index && (d.Field == "" || p.Field == d.Field || strings.HasPrefix(p.Field, d.Field+".")) {
			return true
		}
	}
	return false
}

// problems returns the *ValidationErrors err is made of (itself, or those
// errors.Join joined), or nil if it holds anything else.
func problems(err error) []*ValidationError {
	if err == nil {
		return nil
	}
	if ve, ok := err.(*ValidationError); ok {
		return []*ValidationError{ve}
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return nil
	}
	var out []*ValidationError
	for _, e := range j.Unwrap() {
		ve, ok := e.(*ValidationError)
		if !ok {
			return nil
		}
		out = append(out, ve)
	}
	return out
}
