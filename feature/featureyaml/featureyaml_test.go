package featureyaml

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/feature"
)

const yamlFile = `
kill: false
flags:
  - name: new-checkout
    type: bool
    value: true
    rollout: 25
    rules:
      - attribute: country
        in: [NZ, AU]
      - attribute: plan
        in: [free]
        value: false
        variant: free-plan
  - name: banner
    type: string
    value: spring sale
    off: none
    kill: true
  - name: ratio
    type: number
    value: 0.5
  - name: limit
    type: number
    value: 10
    rollout: 100
`

const jsonFile = `{"flags": [
  {"name": "new-checkout", "type": "bool", "value": true, "rollout": 25,
   "rules": [{"attribute": "country", "in": ["NZ", "AU"]},
             {"attribute": "plan", "in": ["free"], "value": false, "variant": "free-plan"}]},
  {"name": "banner", "type": "string", "value": "spring sale", "off": "none", "kill": true},
  {"name": "ratio", "type": "number", "value": 0.5},
  {"name": "limit", "type": "number", "value": 10, "rollout": 100}
]}`

// The YAML file and its JSON twin evaluate the same for every flag and target.
func TestDecodeMatchesJSON(t *testing.T) {
	f, err := Decode([]byte(yamlFile))
	if err != nil {
		t.Fatal(err)
	}
	ys, err := feature.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	js, err := feature.Parse([]byte(jsonFile))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(ys.Names(), ","), strings.Join(js.Names(), ","); got != want {
		t.Fatalf("names %s, want %s", got, want)
	}
	targets := []feature.Target{
		{}, {Key: "u1"}, {Key: "u2"}, {Key: "u3", Attrs: map[string]string{"country": "NZ"}},
		{Key: "u4", Attrs: map[string]string{"plan": "free"}},
	}
	for _, name := range js.Names() {
		for _, tg := range targets {
			y, j := ys.Evaluate(name, tg), js.Evaluate(name, tg)
			if y.Value != j.Value || y.Variant != j.Variant || y.Reason != j.Reason || (y.Err == nil) != (j.Err == nil) {
				t.Errorf("%s for %+v: YAML %+v, JSON %+v", name, tg, y, j)
			}
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		want string
	}{
		{"empty", "", "empty flag file"},
		{"unknown field", "flags:\n  - name: x\n    type: bool\n    value: true\n    percent: 5\n", `flag "x": percent: unknown field; want one of "name", "type", "value", "off", "rollout", "rules", "kill", "description" (line 5)`},
		{"duplicate key", "flags:\n  - name: x\n    name: y\n", `flag "x": name: given twice (line 3)`},
		{"two documents", "flags: []\n---\nflags: []\n", "more than one YAML document"},
		{"not a mapping", "- a\n- b\n", "line 1: the flag file must be a mapping (kill, flags), not a list"},
		{"null", "~\n", "empty flag file"},
		{"syntax", "flags: [\n", "featureyaml:"},
		{"rollout not a number", "flags:\n  - name: x\n    type: bool\n    value: true\n    rollout: half\n", "line 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Decode([]byte(tt.file))
			if err == nil {
				t.Fatalf("Decode = %+v, want an error", f)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// Validation happens in feature and names the flag and field; YAML's own
// types come through unchanged.
func TestValidationThroughYAML(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"flags:\n  - name: x\n    type: bool\n    value: yes\n", `flag "x": value: want a bool, got string "yes"`},
		{"flags:\n  - name: x\n    type: number\n    value: .inf\n", `flag "x": value: +Inf is not a finite number`},
		{"flags:\n  - name: x\n    type: string\n    value: [a]\n", `flag "x": value: want a string, got a list`},
		{"flags:\n  - name: x\n    type: bool\n    value: true\n    rollout: 120\n", `flag "x": rollout: 120 is outside 0..100`},
	}
	for _, tt := range tests {
		f, err := Decode([]byte(tt.file))
		if err != nil {
			t.Fatalf("Decode(%q): %v", tt.file, err)
		}
		_, err = feature.Compile(f)
		if !errors.Is(err, feature.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compile(%q) error = %v, want %q", tt.file, err, tt.want)
		}
	}
}

func TestDecoderFor(t *testing.T) {
	for _, tt := range []struct {
		path string
		yaml bool
		err  bool
	}{
		{"a/flags.yaml", true, false}, {"flags.YML", true, false}, {"flags.json", false, false},
		{"flags.toml", false, true}, {"flags", false, true},
	} {
		d, err := DecoderFor(tt.path)
		if (err != nil) != tt.err {
			t.Errorf("DecoderFor(%q) error = %v", tt.path, err)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q does not name the path", err)
			}
			continue
		}
		// Tell the decoders apart by what they accept.
		_, yerr := d([]byte("flags: []\n"))
		if (yerr == nil) != tt.yaml {
			t.Errorf("DecoderFor(%q) decodes YAML: %v, want %v", tt.path, yerr == nil, tt.yaml)
		}
	}
}

func TestNewAndReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flags.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("flags:\n  - {name: x, type: string, value: a}\n")
	flags, err := New(feature.Config{Path: path, DisableEnv: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if got := flags.String("x", ""); got != "a" {
		t.Errorf("x = %q", got)
	}
	write("flags:\n  - {name: x, type: string, value: b}\n")
	if err := flags.Reload(); err != nil || flags.String("x", "") != "b" {
		t.Errorf("Reload = %v, x = %q", err, flags.String("x", ""))
	}
	write("flags:\n  - {name: x, type: string, value: 3}\n")
	if err := flags.Reload(); !errors.Is(err, feature.ErrInvalid) || flags.String("x", "") != "b" {
		t.Errorf("bad Reload = %v, x = %q", err, flags.String("x", ""))
	}

	if _, err := New(feature.Config{Path: filepath.Join(dir, "flags.ini")}); err == nil ||
		!strings.Contains(err.Error(), ".ini") {
		t.Errorf("New with .ini = %v", err)
	}
	if _, err := New(feature.Config{}); err == nil || !strings.Contains(err.Error(), "Path") {
		t.Errorf("New without path = %v", err)
	}
}
