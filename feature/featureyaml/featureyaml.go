package featureyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/bulwark-go/bulwark/feature"
)

// Decode decodes a YAML flag file strictly and reports every problem of
// its shape at once, as feature.DecodeJSON does for JSON: unknown fields,
// keys given twice and values of the wrong type, each a
// *feature.ValidationError with the flag, the field and the line, returned
// with the *feature.File holding everything else (so that feature.New and
// feature.Compile report its other problems in the same error). A file
// that is not YAML, not a mapping, empty, or several documents is one
// error, with no File. Decode does not validate the flags:
// feature.Compile (which feature.New runs) does.
func Decode(data []byte) (*feature.File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("featureyaml: empty flag file")
		}
		return nil, fmt.Errorf("featureyaml: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("featureyaml: the flag file holds more than one YAML document")
	}
	root := resolve(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = resolve(root.Content[0])
	}
	switch {
	case root.Kind == yaml.ScalarNode && root.Tag == "!!null":
		return nil, errors.New("featureyaml: empty flag file")
	case root.Kind != yaml.MappingNode:
		return nil, fmt.Errorf("featureyaml: line %d: the flag file must be a mapping (kill, flags), not %s", root.Line, kindOf(root))
	}
	d := &decoder{f: &feature.File{Lines: map[string]int{}}}
	d.file(root)
	if len(d.errs) > 0 {
		return d.f, join(d.errs)
	}
	return d.f, nil
}

// decoder walks a flag file's nodes, so that one problem does not stop it
// and each is placed on its line.
type decoder struct {
	f    *feature.File
	errs []*feature.ValidationError
}

func (d *decoder) bad(index int, field string, line int, format string, args ...any) {
	d.errs = append(d.errs, &feature.ValidationError{Index: index, Field: field, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// mapping calls fn with each known key of the mapping n and its value,
// reporting unknown and repeated keys.
func (d *decoder) mapping(n *yaml.Node, known []string, index int, prefix string, fn func(key string, v *yaml.Node)) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		key := k.Value
		switch {
		case k.Kind != yaml.ScalarNode || !slices.Contains(known, key):
			d.bad(index, prefix+key, k.Line, "unknown field; want one of %s", quoteAll(known))
		case seen[key]:
			d.bad(index, prefix+key, k.Line, "given twice")
		default:
			seen[key] = true
			fn(key, v)
		}
	}
}

// value decodes v into out, reporting a value of the wrong type (out is
// then left as it was).
func (d *decoder) value(v *yaml.Node, out any, want string, index int, field string) {
	if err := v.Decode(out); err != nil {
		d.bad(index, field, v.Line, "want %s, got %s", want, describe(v))
	}
}

// list reports whether v is a sequence (or null, for absent: false, no
// problem).
func (d *decoder) list(v *yaml.Node, want string, index int, field string) bool {
	switch {
	case v.Kind == yaml.SequenceNode:
		return true
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		return false
	}
	d.bad(index, field, v.Line, "want %s, got %s", want, describe(v))
	return false
}

func (d *decoder) file(n *yaml.Node) {
	d.mapping(n, feature.FileKeys, -1, "", func(key string, v *yaml.Node) {
		d.f.Lines[key] = v.Line
		if key == "kill" {
			d.value(v, &d.f.Kill, "a bool", -1, key)
			return
		}
		if !d.list(v, "a list of flags", -1, key) {
			return
		}
		for i, item := range v.Content {
			d.spec(i, resolve(item))
		}
	})
}

func (d *decoder) spec(i int, n *yaml.Node) {
	path := "flags[" + strconv.Itoa(i) + "]"
	d.f.Flags = append(d.f.Flags, feature.Spec{})
	d.f.Lines[path] = n.Line
	if n.Kind != yaml.MappingNode {
		d.bad(i, "", n.Line, "want a mapping, got %s", describe(n))
		return
	}
	sp := &d.f.Flags[i]
	first := len(d.errs)
	d.mapping(n, feature.SpecKeys, i, "", func(key string, v *yaml.Node) {
		d.f.Lines[path+"."+key] = v.Line
		switch key {
		case "name":
			d.value(v, &sp.Name, "a string", i, key)
		case "type":
			d.value(v, &sp.Type, "a string", i, key)
		case "value":
			d.value(v, &sp.Value, "a value", i, key)
		case "off":
			d.value(v, &sp.Off, "a value", i, key)
		case "rollout":
			d.value(v, &sp.Rollout, "a number", i, key)
		case "kill":
			d.value(v, &sp.Kill, "a bool", i, key)
		case "description":
			d.value(v, &sp.Description, "a string", i, key)
		case "rules":
			if d.list(v, "a list of rules", i, key) {
				for j, item := range v.Content {
					d.rule(sp, path, i, j, resolve(item))
				}
			}
		}
	})
	if sp.Name != "" { // name the flag in the problems found before its name
		for _, e := range d.errs[first:] {
			e.Flag = sp.Name
		}
	}
}

func (d *decoder) rule(sp *feature.Spec, flagPath string, i, j int, n *yaml.Node) {
	field := "rules[" + strconv.Itoa(j) + "]"
	sp.Rules = append(sp.Rules, feature.Rule{})
	d.f.Lines[flagPath+"."+field] = n.Line
	if n.Kind != yaml.MappingNode {
		d.bad(i, field, n.Line, "want a mapping, got %s", describe(n))
		return
	}
	r := &sp.Rules[j]
	d.mapping(n, feature.RuleKeys, i, field+".", func(key string, v *yaml.Node) {
		d.f.Lines[flagPath+"."+field+"."+key] = v.Line
		switch key {
		case "attribute":
			d.value(v, &r.Attribute, "a string", i, field+"."+key)
		case "in":
			d.value(v, &r.In, "a list of strings", i, field+"."+key)
		case "value":
			d.value(v, &r.Value, "a value", i, field+"."+key)
		case "variant":
			d.value(v, &r.Variant, "a string", i, field+"."+key)
		}
	})
}

func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return "a scalar"
}

// describe names a node for error messages: its kind, and a scalar's value.
func describe(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return kindOf(n)
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "..."
	}
	switch n.Tag {
	case "!!str":
		return fmt.Sprintf("string %q", v)
	case "!!int", "!!float":
		return "number " + v
	case "!!bool":
		return "bool " + v
	case "!!null":
		return "null"
	}
	return fmt.Sprintf("%s %q", strings.TrimPrefix(n.Tag, "!!"), v)
}

func quoteAll(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = strconv.Quote(k)
	}
	return strings.Join(q, ", ")
}

// join returns the problems as one error, in order of line.
func join(errs []*feature.ValidationError) error {
	if len(errs) == 1 {
		return errs[0]
	}
	slices.SortStableFunc(errs, func(a, b *feature.ValidationError) int { return a.Line - b.Line })
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return errors.Join(out...)
}

// DecoderFor returns the decoder for a flag file by its extension: Decode
// for ".yaml" and ".yml", feature.DecodeJSON for ".json" (in any case).
// Any other extension is an error naming it.
func DecoderFor(path string) (func([]byte) (*feature.File, error), error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".yaml", ".yml":
		return Decode, nil
	case ".json":
		return feature.DecodeJSON, nil
	default:
		return nil, fmt.Errorf("featureyaml: %s: unknown flag file extension %q; want .yaml, .yml or .json", path, ext)
	}
}

// New is feature.New with Config.Decode chosen by the file's extension
// (see DecoderFor) when it is nil.
func New(cfg feature.Config) (*feature.Flags, error) {
	if cfg.Decode == nil && cfg.Path != "" {
		d, err := DecoderFor(cfg.Path)
		if err != nil {
			return nil, err
		}
		cfg.Decode = d
	}
	return feature.New(cfg)
}
