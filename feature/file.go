package feature

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// DecodeJSON decodes a JSON flag file strictly: unknown fields, trailing
// data and a document that is not an object are errors. It does not
// validate the flags; see [Compile] and [Parse].
func DecodeJSON(data []byte) (*File, error) {
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] != '{' {
		return nil, errors.New("feature: decoding JSON: the flag file must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("feature: empty flag file")
		}
		return nil, fmt.Errorf("feature: decoding JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("feature: decoding JSON: unexpected data after the top-level object")
	}
	return &f, nil
}

// Parse decodes a JSON flag file with [DecodeJSON] and validates it with
// [Compile]. It applies no environment overrides.
func Parse(data []byte) (*Set, error) {
	f, err := DecodeJSON(data)
	if err != nil {
		return nil, err
	}
	return Compile(f)
}
