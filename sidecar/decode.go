package sidecar

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MaxConfigBytes is the largest config file ParseConfig reads.
const MaxConfigBytes = 1 << 20

// maxNodeVisits bounds the work of decoding a document whose aliases point
// at large nodes many times over (a "billion laughs" file).
const maxNodeVisits = 100_000

// decoder walks a yaml.Node tree into Go values, naming every problem by its
// key path. It rejects unknown keys, duplicate keys and merge keys.
type decoder struct {
	errs    ConfigErrors
	dropped int            // problems past MaxReportedErrors
	lines   map[string]int // key path -> line, for validation errors
	visits  int
}

func (d *decoder) fail(path string, n *yaml.Node, format string, args ...any) {
	if len(d.errs) >= MaxReportedErrors {
		d.dropped++
		return
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &ConfigError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// parseYAML decodes data into c. It returns an error when data is not one
// YAML document; problems of form (types, unknown keys) are in the
// decoder's errs, with c decoded as far as it could be. Validation of
// values comes after.
func parseYAML(data []byte, c *Config) (*decoder, error) {
	if len(data) > MaxConfigBytes {
		return nil, ConfigErrors{{Msg: fmt.Sprintf("config is %d bytes, more than the %d allowed", len(data), MaxConfigBytes)}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ConfigErrors{{Msg: "config is empty"}}
		}
		return nil, ConfigErrors{syntaxError(data, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, ConfigErrors{syntaxError(data, err)}
		}
		return nil, ConfigErrors{{Line: extra.Line, Msg: "more than one YAML document; put everything in one"}}
	}
	d := &decoder{lines: map[string]int{}}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, ConfigErrors{{Msg: "config is empty"}}
		}
		root = root.Content[0]
	}
	d.value("", root, reflect.ValueOf(c).Elem())
	return d, nil
}

var durationType = reflect.TypeFor[time.Duration]()

// resolve follows aliases, counting visits.
func (d *decoder) resolve(n *yaml.Node) (*yaml.Node, bool) {
	for range 100 {
		d.visits++
		if d.visits > maxNodeVisits {
			return nil, false
		}
		if n.Kind != yaml.AliasNode {
			return n, true
		}
		if n.Alias == nil {
			return nil, false
		}
		n = n.Alias
	}
	return nil, false
}

func (d *decoder) value(path string, n *yaml.Node, v reflect.Value) {
	n, ok := d.resolve(n)
	if !ok {
		if d.visits > maxNodeVisits {
			if len(d.errs) == 0 || d.errs[len(d.errs)-1].Msg != "too many aliases" {
				d.fail(path, nil, "too many aliases")
			}
			return
		}
		d.fail(path, nil, "bad alias")
		return
	}
	if path != "" {
		d.lines[path] = n.Line
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		d.fail(path, n, "no value given")
		return
	}
	t := v.Type()
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			d.fail(path, n, "must be a duration such as \"250ms\" or \"2s\", got a %s", kindName(n))
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.fail(path, n, "must be a duration such as \"250ms\" or \"2s\", got %q", n.Value)
			return
		}
		v.SetInt(int64(dur))
	case t.Kind() == reflect.Pointer:
		nv := reflect.New(t.Elem())
		d.value(path, n, nv.Elem())
		v.Set(nv)
	case t.Kind() == reflect.Struct:
		d.mapping(path, n, v)
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(path, n, "must be a list, got a %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.value(fmt.Sprintf("%s[%d]", path, i), item, s.Index(i))
		}
		v.Set(s)
	case t.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.fail(path, n, "must be a string, got a %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	case t.Kind() == reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.fail(path, n, "must be true or false, got %s", describe(n))
			return
		}
		var b bool
		if n.Decode(&b) != nil {
			d.fail(path, n, "must be true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			d.fail(path, n, "must be an integer, got %s", describe(n))
			return
		}
		v.SetInt(i)
	case t.Kind() == reflect.Float64:
		var f float64
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!float" && n.Tag != "!!int") || n.Decode(&f) != nil {
			d.fail(path, n, "must be a number, got %s", describe(n))
			return
		}
		v.SetFloat(f)
	default:
		panic("sidecar: config field of unsupported type " + t.String())
	}
}

func (d *decoder) mapping(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, n, "must be a mapping of keys to values, got %s", describe(n))
		return
	}
	fields := keysOf(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, ok := d.resolve(n.Content[i])
		if !ok {
			d.fail(path, nil, "too many aliases")
			return
		}
		if kn.Kind != yaml.ScalarNode {
			d.fail(path, kn, "keys must be strings, got a %s", kindName(kn))
			continue
		}
		key := kn.Value
		kpath := key
		if path != "" {
			kpath = path + "." + key
		}
		if kn.Tag == "!!merge" {
			d.fail(kpath, kn, "merge keys (<<) are not supported: repeat the keys, or use an alias for a whole block")
			continue
		}
		if seen[key] {
			d.fail(kpath, kn, "key given twice")
			continue
		}
		seen[key] = true
		idx, ok := fields[key]
		if !ok {
			d.fail(kpath, kn, "unknown key (known keys: %s)", strings.Join(sortedKeys(fields), ", "))
			continue
		}
		d.value(kpath, n.Content[i+1], v.Field(idx))
	}
}

// keysOf maps the yaml keys of a struct type to field indexes.
func keysOf(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("yaml")
		if tag == "" || tag == "-" {
			continue
		}
		out[strings.Split(tag, ",")[0]] = i
	}
	return out
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	}
	return "node"
}

func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return strconv.Quote(v)
	}
	return "a " + kindName(n)
}
