package featureyaml

import (
	"errors"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/feature"
)

// FuzzDecode feeds Decode arbitrary bytes: it never panics, an error is
// named and comes with no file, and a decoded file either compiles into a
// set whose every flag evaluates to a value of its type, or is refused by
// Compile with an error.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		yamlFile,
		"flags: []\n",
		"kill: true\nflags:\n  - {name: a, type: bool, value: true}\n",
		"flags:\n  - {name: n, type: number, value: 1e308, off: -1e308, rollout: 0.0001}\n",
		"flags:\n  - {name: s, type: string, value: '', rules: [{attribute: '', in: []}]}\n",
		"flags:\n  - {name: x, type: bool, value: true}\n  - {name: x, type: bool, value: true}\n",
		"flags: [{name: x, type: bool, value: true, rollout: 101}]\n",
		"flags: [{name: x, type: bool, value: ~}]\n",
		"flags: [{name: x, type: bool, value: true, unknown: 1}]\n",
		"a: &a [*a]\n",
		"flags: !!binary aGVsbG8=\n",
		"---\nflags: []\n---\nflags: []\n",
		"", "{", "- 1\n- 2\n", "flags: [[]]\n", "\t", "kill: yes\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Decode(data)
		if err != nil {
			if file != nil { // with the problems it could step over, each on its line
				// YAML breaks lines at CR LF, LF and a lone CR alike.
				text := strings.ReplaceAll(string(data), "\r\n", "\n")
				lines := 1 + strings.Count(text, "\n") + strings.Count(text, "\r")
				for _, e := range unwrapAll(err) {
					var ve *feature.ValidationError
					if !errors.As(e, &ve) || ve.Line < 1 || ve.Line > lines {
						t.Fatalf("Decode returned a file and the error %v, not problems on lines 1..%d", e, lines)
					}
				}
				_, _ = feature.Compile(file) // a partial file must not make Compile panic
				return
			}
			if !strings.HasPrefix(err.Error(), "featureyaml: ") {
				t.Fatalf("error %q does not name the package", err)
			}
			return
		}
		if file == nil {
			t.Fatal("Decode returned neither a file nor an error")
		}
		set, err := feature.Compile(file)
		if err != nil {
			if set != nil || err.Error() == "" {
				t.Fatalf("Compile = %v, %v", set, err)
			}
			return
		}
		for _, name := range set.Names() {
			typ, ok := set.Type(name)
			if !ok {
				t.Fatalf("Names lists %q but Type does not know it", name)
			}
			ev := set.Evaluate(name, feature.Target{Key: "user-1", Attrs: map[string]string{"country": "NZ"}})
			if ev.Err != nil || ev.Type != typ {
				t.Fatalf("Evaluate(%q) = %+v for a %v flag", name, ev, typ)
			}
		}
	})
}

// unwrapAll returns the errors err joins, or err itself.
func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
