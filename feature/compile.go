package feature

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Type is a flag's value type.
type Type uint8

// The flag types.
const (
	TypeBool   Type = iota + 1 // "bool": a bool
	TypeString                 // "string": a string
	TypeNumber                 // "number": a float64
)

// String returns "bool", "string" or "number".
func (t Type) String() string {
	switch t {
	case TypeBool:
		return "bool"
	case TypeString:
		return "string"
	case TypeNumber:
		return "number"
	}
	return "unknown"
}

func parseType(s string) (Type, bool) {
	switch s {
	case "bool":
		return TypeBool, true
	case "string":
		return TypeString, true
	case "number":
		return TypeNumber, true
	}
	return 0, false
}

// value holds a flag value in typed form and boxed once, so that returning
// it as an any does not allocate.
type value struct {
	b   bool
	s   string
	f   float64
	any any
}

func (v value) equal(w value) bool { return v.b == w.b && v.s == w.s && v.f == w.f }

type rule struct {
	attr    string
	in      []string
	set     map[string]struct{} // for long lists
	val     value
	variant string
}

const ruleSetMin = 8 // lists at least this long are matched through a map

func (r *rule) match(attrs map[string]string) bool {
	got, ok := attrs[r.attr]
	if !ok {
		return false
	}
	if r.set != nil {
		_, ok := r.set[got]
		return ok
	}
	for _, s := range r.in {
		if s == got {
			return true
		}
	}
	return false
}

// flag is a compiled, immutable flag.
type flag struct {
	name        string
	typ         Type
	on, off     value
	override    *value // from the environment
	rollout     float64
	hasRollout  bool
	threshold   uint64 // keys whose bucket is below it get on
	rules       []rule
	kill        bool
	description string
}

func (a *flag) equal(b *flag) bool {
	if a.typ != b.typ || !a.on.equal(b.on) || !a.off.equal(b.off) || a.kill != b.kill ||
		a.hasRollout != b.hasRollout || a.rollout != b.rollout || len(a.rules) != len(b.rules) ||
		(a.override == nil) != (b.override == nil) || a.description != b.description {
		return false
	}
	if a.override != nil && !a.override.equal(*b.override) {
		return false
	}
	for i := range a.rules {
		ra, rb := &a.rules[i], &b.rules[i]
		if ra.attr != rb.attr || ra.variant != rb.variant || !ra.val.equal(rb.val) || !slices.Equal(ra.in, rb.in) {
			return false
		}
	}
	return true
}

// Set is an immutable set of compiled flags. All its methods are safe for
// concurrent use; evaluating a flag does not allocate.
type Set struct {
	flags   map[string]*flag
	names   []string // sorted
	kill    bool
	version uint64
}

// Len returns the number of flags.
func (s *Set) Len() int { return len(s.names) }

// Names returns the flag names, sorted.
func (s *Set) Names() []string { return slices.Clone(s.names) }

// Killed reports whether the file's global kill switch is on.
func (s *Set) Killed() bool { return s.kill }

// Version counts the flag sets a [Flags] has accepted: 1 for the first
// load, 2 after the first accepted change, ... A Set made by [Compile] or
// [Parse] has version 0.
func (s *Set) Version() uint64 { return s.version }

// Type returns the type of the named flag, and false if there is none.
func (s *Set) Type(name string) (Type, bool) {
	fl := s.flags[name]
	if fl == nil {
		return 0, false
	}
	return fl.typ, true
}

// Compile validates a decoded flag file and builds an immutable [Set]. The
// error lists every problem found, each a *[ValidationError] naming the
// flag, the field and (when f.Lines has it) the line, joined with
// errors.Join in order of line when there are several.
func Compile(f *File) (*Set, error) {
	return compile(f, nil)
}

// envOverrides maps flag names to raw override values, with the variable
// name each came from, for error messages.
type envOverrides map[string]envValue

type envValue struct {
	variable string
	raw      string
}

func compile(f *File, env envOverrides) (*Set, error) {
	if f == nil {
		return nil, &ValidationError{Index: -1, Field: "file", Msg: "nil"}
	}
	var errs []*ValidationError
	bad := func(fl string, i int, field, format string, args ...any) {
		path := "flags[" + strconv.Itoa(i) + "]"
		line, ok := f.Lines[path+"."+field]
		if !ok {
			line = f.Lines[path]
		}
		errs = append(errs, &ValidationError{Flag: fl, Index: i, Field: field, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	s := &Set{flags: make(map[string]*flag, len(f.Flags)), kill: f.Kill}
	first := make(map[string]int, len(f.Flags))
	for i := range f.Flags {
		sp := &f.Flags[i]
		name := sp.Name
		if name == "" {
			bad("", i, "name", "missing")
		} else if err := checkName(name); err != "" {
			bad("", i, "name", "%q %s", name, err)
			name = ""
		} else if j, dup := first[name]; dup {
			bad(name, i, "name", "duplicate: flags #%d and #%d have this name", j+1, i+1)
			continue
		} else {
			first[name] = i
		}
		fl := &flag{name: name, kill: sp.Kill, description: sp.Description}
		typ, ok := parseType(sp.Type)
		if !ok {
			if sp.Type == "" {
				bad(name, i, "type", "missing; want bool, string or number")
			} else {
				bad(name, i, "type", "unknown type %q; want bool, string or number", sp.Type)
			}
			continue // the values cannot be checked without a type
		}
		fl.typ = typ
		if sp.Value == nil {
			bad(name, i, "value", "missing")
		} else if v, err := toValue(typ, sp.Value); err != "" {
			bad(name, i, "value", "%s", err)
		} else {
			fl.on = v
		}
		fl.off = zeroValue(typ)
		if sp.Off != nil {
			if v, err := toValue(typ, sp.Off); err != "" {
				bad(name, i, "off", "%s", err)
			} else {
				fl.off = v
			}
		}
		if sp.Rollout != nil {
			p := *sp.Rollout
			if math.IsNaN(p) || p < 0 || p > 100 {
				bad(name, i, "rollout", "%v is outside 0..100", p)
			} else {
				fl.hasRollout = true
				fl.rollout = p
				fl.threshold = threshold(p)
			}
		}
		for j := range sp.Rules {
			r := &sp.Rules[j]
			field := func(f string) string { return "rules[" + strconv.Itoa(j) + "]." + f }
			cr := rule{attr: r.Attribute, in: slices.Clone(r.In), val: fl.on, variant: r.Variant}
			if r.Attribute == "" {
				bad(name, i, field("attribute"), "missing")
			}
			if len(r.In) == 0 {
				bad(name, i, field("in"), "missing or empty; list the attribute values that match")
			}
			if r.Value != nil {
				if v, err := toValue(typ, r.Value); err != "" {
					bad(name, i, field("value"), "%s", err)
				} else {
					cr.val = v
				}
			}
			if cr.variant == "" {
				cr.variant = "rule-" + strconv.Itoa(j+1)
			} else if reservedVariant(cr.variant) {
				bad(name, i, field("variant"), "%q is reserved; pick another name", cr.variant)
			}
			if len(cr.in) >= ruleSetMin {
				cr.set = make(map[string]struct{}, len(cr.in))
				for _, v := range cr.in {
					cr.set[v] = struct{}{}
				}
			}
			fl.rules = append(fl.rules, cr)
		}
		if ev, ok := env[name]; ok {
			v, err := parseOverride(typ, ev.raw)
			if err != "" {
				bad(name, i, "env "+ev.variable, "%s", err)
			} else {
				fl.override = &v
			}
		}
		if name != "" {
			s.flags[name] = fl
			s.names = append(s.names, name)
		}
	}
	if len(errs) > 0 {
		return nil, joinProblems(errs)
	}
	slices.Sort(s.names)
	return s, nil
}

func reservedVariant(v string) bool {
	return v == VariantOn || v == VariantOff || v == VariantOverride
}

func checkName(name string) string {
	if len(name) > 256 {
		return "is longer than 256 bytes"
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return "must be letters, digits, '.', '_' and '-', starting with a letter or digit"
		}
	}
	return ""
}

// threshold converts a percentage to the bucket bound: a key whose 32-bit
// bucket is below it is inside the rollout. It grows with p, so raising the
// percentage only adds keys.
func threshold(p float64) uint64 {
	return uint64(math.Round(p / 100 * (1 << 32)))
}

func zeroValue(t Type) value {
	switch t {
	case TypeBool:
		return value{any: false}
	case TypeString:
		return value{any: ""}
	}
	return value{any: float64(0)}
}

// toValue converts a decoded value to t, or says why it cannot.
func toValue(t Type, x any) (value, string) {
	switch t {
	case TypeBool:
		if b, ok := x.(bool); ok {
			return value{b: b, any: b}, ""
		}
	case TypeString:
		if s, ok := x.(string); ok {
			return value{s: s, any: s}, ""
		}
	case TypeNumber:
		f, ok := toFloat(x)
		if ok {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return value{}, fmt.Sprintf("%v is not a finite number", f)
			}
			return value{f: f, any: f}, ""
		}
	}
	return value{}, fmt.Sprintf("want a %v, got %s", t, describe(x))
}

func toFloat(x any) (float64, bool) {
	switch n := x.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func describe(x any) string {
	switch v := x.(type) {
	case string:
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return fmt.Sprintf("string %q", v)
	case bool:
		return fmt.Sprintf("bool %v", v)
	case float64, float32, int, int64, uint64, json.Number:
		return fmt.Sprintf("number %v", v)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", x)
}

// parseOverride parses an environment override for a flag of type t.
func parseOverride(t Type, raw string) (value, string) {
	switch t {
	case TypeBool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return value{}, fmt.Sprintf("%q is not a bool (want true, false, 1 or 0)", raw)
		}
		return value{b: b, any: b}, ""
	case TypeNumber:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return value{}, fmt.Sprintf("%q is not a finite number", raw)
		}
		return value{f: f, any: f}, ""
	}
	return value{s: raw, any: raw}, ""
}
