package feature_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/bulwark-go/bulwark/feature"
)

// Flags from a file: a static flag, a rollout with a targeting rule, and a
// killed flag.
func Example() {
	dir, _ := os.MkdirTemp("", "flags")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "flags.json")
	os.WriteFile(path, []byte(`{"flags": [
	  {"name": "new-search", "type": "bool", "value": true},
	  {"name": "new-checkout", "type": "bool", "value": true, "rollout": 0,
	   "rules": [{"attribute": "country", "in": ["NZ", "AU"]}]},
	  {"name": "banner", "type": "string", "value": "spring sale", "off": "none", "kill": true}
	]}`), 0o644)

	flags, err := feature.New(feature.Config{Path: path, DisableEnv: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	// In a service: go flags.Watch(ctx)

	fmt.Println(flags.Bool("new-search", false))
	nz := feature.Target{Key: "user-42", Attrs: map[string]string{"country": "NZ"}}
	fr := feature.Target{Key: "user-43", Attrs: map[string]string{"country": "FR"}}
	fmt.Println(flags.BoolFor("new-checkout", nz, false), flags.BoolFor("new-checkout", fr, false))
	fmt.Println(flags.String("banner", "default"))
	// Output:
	// true
	// true false
	// none
}

// Evaluate tells why a flag has its value.
func ExampleSet_Evaluate() {
	set, err := feature.Parse([]byte(`{"flags": [
	  {"name": "checkout", "type": "bool", "value": true, "rollout": 30,
	   "rules": [{"attribute": "plan", "in": ["beta"], "variant": "beta-testers"}]}
	]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range []feature.Target{
		{Key: "user-1", Attrs: map[string]string{"plan": "beta"}},
		{Key: "user-1"},
		{},
	} {
		ev := set.Evaluate("checkout", t)
		fmt.Println(ev.Value, ev.Variant, ev.Reason, ev.Err)
	}
	fmt.Println(set.Evaluate("nope", feature.Target{}).Err)
	// Output:
	// true beta-testers targeting_match <nil>
	// false off split <nil>
	// <nil>  error feature: rollout needs a target key: "checkout"
	// feature: flag not found: "nope"
}

// A bad file reports every problem at once, each with the flag, the field
// and the line.
func ExampleParse_errors() {
	_, err := feature.Parse([]byte(`{"flags": [
	  {"name": "a", "type": "integer", "value": 1},
	  {"name": "b", "type": "bool", "value": true,
	   "rollout": 150, "extra": 1}
	]}`))
	fmt.Println(err)
	// Output:
	// feature: flag "a": type: unknown type "integer"; want bool, string or number (line 2)
	// feature: flag "b": extra: unknown field; want one of "name", "type", "value", "off", "rollout", "rules", "kill", "description" (line 4)
	// feature: flag "b": rollout: 150 is outside 0..100 (line 4)
}

// Listeners hear of each accepted change.
func ExampleFlags_Subscribe() {
	dir, _ := os.MkdirTemp("", "flags")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "flags.json")
	os.WriteFile(path, []byte(`{"flags": [{"name": "limit", "type": "number", "value": 10}]}`), 0o644)
	flags, _ := feature.New(feature.Config{Path: path, DisableEnv: true,
		Logger: slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey || a.Key == "path" {
					return slog.Attr{}
				}
				return a
			}}))})
	flags.Subscribe(func(c feature.Change) {
		fmt.Println("changed:", c.Changed, c.Old.Float("limit", 0), "->", c.New.Float("limit", 0))
	})

	os.WriteFile(path, []byte(`{"flags": [{"name": "limit", "type": "number", "value": 20}]}`), 0o644)
	fmt.Println(flags.Reload())
	os.WriteFile(path, []byte(`{"flags": [{"name": "limit", "type": "number", "value": "30"}]}`), 0o644)
	fmt.Println(flags.Reload() != nil, flags.Float("limit", 0))
	// Output:
	// changed: [limit] 10 -> 20
	// <nil>
	// level=ERROR msg="feature: rejected flag file; the flags in force stay in force" name=feature err="feature: flag \"limit\": value: want a number, got string \"30\" (line 1)"
	// true 20
}
