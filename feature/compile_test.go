package feature

import (
	"errors"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	s, err := Parse([]byte(`{
	  "flags": [
	    {"name": "a", "type": "bool", "value": true, "description": "x"},
	    {"name": "b.c_d-e", "type": "string", "value": "v", "off": "o", "rollout": 12.5},
	    {"name": "n", "type": "number", "value": 3, "rules": [{"attribute": "k", "in": ["1"]}]}
	  ]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(s.Names(), ","), "a,b.c_d-e,n"; got != want {
		t.Errorf("Names() = %s, want %s", got, want)
	}
	if s.Len() != 3 || s.Version() != 0 || s.Killed() {
		t.Errorf("Len, Version, Killed = %d, %d, %v", s.Len(), s.Version(), s.Killed())
	}
	for name, want := range map[string]Type{"a": TypeBool, "b.c_d-e": TypeString, "n": TypeNumber} {
		if got, ok := s.Type(name); !ok || got != want {
			t.Errorf("Type(%q) = %v, %v; want %v", name, got, ok, want)
		}
	}
	if _, ok := s.Type("zzz"); ok {
		t.Error("Type of a missing flag reported ok")
	}
	// An empty object is a valid file with no flags.
	if s, err := Parse([]byte(`{}`)); err != nil || s.Len() != 0 {
		t.Errorf("Parse({}) = %v, %v", s, err)
	}
}

func TestParseErrorsNameFlagAndField(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string // substrings of the error
	}{
		{"unknown type", `{"flags":[{"name":"x","type":"int","value":1}]}`,
			[]string{`flag "x"`, "type", `unknown type "int"`}},
		{"missing type", `{"flags":[{"name":"x","value":1}]}`,
			[]string{`flag "x"`, "type: missing"}},
		{"wrong value type", `{"flags":[{"name":"x","type":"bool","value":"yes"}]}`,
			[]string{`flag "x"`, "value", `want a bool, got string "yes"`}},
		{"missing value", `{"flags":[{"name":"x","type":"string"}]}`,
			[]string{`flag "x"`, "value: missing"}},
		{"wrong off type", `{"flags":[{"name":"x","type":"number","value":1,"off":true}]}`,
			[]string{`flag "x"`, "off", "want a number, got bool true"}},
		{"object value", `{"flags":[{"name":"x","type":"string","value":{"a":1}}]}`,
			[]string{`flag "x"`, "value", "an object"}},
		{"rollout over 100", `{"flags":[{"name":"x","type":"bool","value":true,"rollout":100.5}]}`,
			[]string{`flag "x"`, "rollout", "100.5 is outside 0..100"}},
		{"rollout negative", `{"flags":[{"name":"x","type":"bool","value":true,"rollout":-1}]}`,
			[]string{`flag "x"`, "rollout", "-1 is outside 0..100"}},
		{"duplicate", `{"flags":[{"name":"x","type":"bool","value":true},{"name":"x","type":"bool","value":false}]}`,
			[]string{`flag "x"`, "duplicate", "#1 and #2"}},
		{"missing name", `{"flags":[{"type":"bool","value":true}]}`,
			[]string{"flag #1", "name: missing"}},
		{"bad name", `{"flags":[{"name":"a b","type":"bool","value":true}]}`,
			[]string{"flag #1", "name", `"a b"`}},
		{"name starts with dash", `{"flags":[{"name":"-a","type":"bool","value":true}]}`,
			[]string{"flag #1", "name"}},
		{"rule without attribute", `{"flags":[{"name":"x","type":"bool","value":true,"rules":[{"in":["a"]}]}]}`,
			[]string{`flag "x"`, "rules[0].attribute: missing"}},
		{"rule without values", `{"flags":[{"name":"x","type":"bool","value":true,"rules":[{"attribute":"a"}]}]}`,
			[]string{`flag "x"`, "rules[0].in"}},
		{"rule value type", `{"flags":[{"name":"x","type":"bool","value":true,"rules":[{"attribute":"a","in":["b"],"value":2}]}]}`,
			[]string{`flag "x"`, "rules[0].value", "want a bool"}},
		{"reserved variant", `{"flags":[{"name":"x","type":"bool","value":true,"rules":[{"attribute":"a","in":["b"],"variant":"off"}]}]}`,
			[]string{`flag "x"`, "rules[0].variant", "reserved"}},
		{"unknown field", `{"flags":[{"name":"x","type":"bool","value":true,"percent":5}]}`,
			[]string{"unknown field", "percent"}},
		{"not an object", `[1,2]`, []string{"must be a JSON object"}},
		{"null", `null`, []string{"must be a JSON object"}},
		{"empty", ``, []string{"empty"}},
		{"trailing data", `{} {}`, []string{"after the top-level object"}},
		{"syntax", `{"flags": [`, []string{"decoding JSON"}},
		{"rollout as string", `{"flags":[{"name":"x","type":"bool","value":true,"rollout":"5"}]}`,
			[]string{"rollout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.file))
			if err == nil {
				t.Fatalf("Parse succeeded with %d flags, want an error", s.Len())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestValidationErrorTyped(t *testing.T) {
	_, err := Parse([]byte(`{"flags":[
		{"name":"a","type":"bool","value":1},
		{"name":"b","type":"number","value":1,"rollout":200}]}`))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("errors.Is(%v, ErrInvalid) = false", err)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("errors.As(%v, *ValidationError) = false", err)
	}
	if ve.Flag != "a" || ve.Field != "value" || ve.Index != 0 {
		t.Errorf("first error = %+v, want flag a, field value, index 0", ve)
	}
	// Every problem is reported, not only the first.
	if !strings.Contains(err.Error(), `flag "b": rollout`) {
		t.Errorf("error %q does not report the second flag", err)
	}
}

func TestCompileNil(t *testing.T) {
	if _, err := Compile(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Compile(nil) error = %v, want ErrInvalid", err)
	}
}

func TestCompileAcceptsDecoderNumberTypes(t *testing.T) {
	for _, v := range []any{int(2), int8(2), int16(2), int32(2), int64(2), uint(2), uint8(2), uint16(2),
		uint32(2), uint64(2), float32(2), float64(2)} {
		s, err := Compile(&File{Flags: []Spec{{Name: "n", Type: "number", Value: v}}})
		if err != nil {
			t.Fatalf("Compile with %T: %v", v, err)
		}
		if got := s.Float("n", 0); got != 2 {
			t.Errorf("%T: Float = %v, want 2", v, got)
		}
	}
}

func TestTypeString(t *testing.T) {
	for typ, want := range map[Type]string{TypeBool: "bool", TypeString: "string", TypeNumber: "number", 0: "unknown"} {
		if got := typ.String(); got != want {
			t.Errorf("Type(%d).String() = %q, want %q", typ, got, want)
		}
	}
}
