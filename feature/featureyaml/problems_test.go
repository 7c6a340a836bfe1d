package featureyaml

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/bulwark-go/bulwark/feature"
)

// Every problem of a YAML flag file is reported at once by New, the
// decoder's and Compile's together, each with the flag, the field and the
// line.
func TestNewReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"unknown field and bad rollout", `flags:
  - name: a
    type: bool
    value: true
    extra: 1
    rollout: 120
`, []string{
			`feature: flag "a": extra: unknown field; want one of "name", "type", "value", "off", "rollout", "rules", "kill", "description" (line 5)`,
			`feature: flag "a": rollout: 120 is outside 0..100 (line 6)`,
		}},
		{"wrong types, named later", `kill: maybe
flags:
  - type: [bool]
    name: b
    value: true
    rules:
      - {attribute: plan, in: free}
      - nope
  - 3
`, []string{
			`feature: kill: want a bool, got string "maybe" (line 1)`,
			`feature: flag "b": type: want a string, got a list (line 3)`,
			`feature: flag "b": rules[0].in: want a list of strings, got string "free" (line 7)`,
			`feature: flag "b": rules[1]: want a mapping, got string "nope" (line 8)`,
			`feature: flag #2: want a mapping, got number 3 (line 9)`,
		}},
		{"twice and duplicate names", `flags:
  - {name: c, type: bool, value: true, value: false}
  - {name: c, type: bool, value: true}
`, []string{
			`feature: flag "c": value: given twice (line 2)`,
			`feature: flag "c": name: duplicate: flags #1 and #2 have this name (line 3)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "flags.yaml")
			if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := New(feature.Config{Path: path, DisableEnv: true})
			var le *feature.LoadError
			if !errors.As(err, &le) || !errors.Is(err, feature.ErrInvalid) {
				t.Fatalf("New = %v, want a LoadError matching ErrInvalid", err)
			}
			if got := strings.Split(le.Err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", le.Err, strings.Join(tt.want, "\n"))
			}
		})
	}
}

// FuzzDecodeAgainstYAML checks Decode against yaml's own strict decoding:
// a file Decode accepts decodes the same there.
func FuzzDecodeAgainstYAML(f *testing.F) {
	for _, seed := range []string{
		yamlFile, "flags: []\n", "kill: true\n", "flags:\n  - {name: a, type: bool, value: true, extra: 1, rollout: 120}\n",
		"flags:\n  - &x {name: a, type: number, value: 1}\n  - *x\n", "flags: [{rules: [{in: [a, b]}, 3]}]\n",
		"flags: [{value: {a: [1, 2]}, off: !!binary aGVsbG8=}]\n", "kill: yes\n", "flags: [{rollout: .nan}]\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Decode(data)
		if err != nil {
			return
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		var want feature.File
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("Decode accepted what yaml refuses: %v", err)
		}
		got := *file
		got.Lines = nil
		if !reflect.DeepEqual(normal(got), normal(want)) {
			t.Fatalf("Decode = %#v\nyaml = %#v", got, want)
		}
	})
}

// normal makes empty and nil lists alike, and NaN rollouts equal.
func normal(f feature.File) feature.File {
	if len(f.Flags) == 0 {
		f.Flags = nil
	}
	for i := range f.Flags {
		sp := &f.Flags[i]
		if len(sp.Rules) == 0 {
			sp.Rules = nil
		}
		if sp.Rollout != nil && math.IsNaN(*sp.Rollout) {
			sp.Rollout = nil
		}
	}
	return f
}
