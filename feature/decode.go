package feature

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// The keys of each object of a flag file, shared by the JSON decoder and
// featureyaml's.
var (
	// FileKeys are the keys of the top-level object.
	FileKeys = []string{"kill", "flags"}
	// SpecKeys are the keys of a flag.
	SpecKeys = []string{"name", "type", "value", "off", "rollout", "rules", "kill", "description"}
	// RuleKeys are the keys of a rule.
	RuleKeys = []string{"attribute", "in", "value", "variant"}
)

// DecodeJSON decodes a JSON flag file strictly and reports every problem
// of its shape at once, each a *[ValidationError] naming the flag, the
// field and the line: unknown fields, fields given twice, values of the
// wrong type. It then also returns the *File holding everything else, so
// that [Parse] and [Flags] can validate it and report its other problems
// (a rollout of 120, ...) in the same error. A file that is not JSON, not
// an object, empty or followed by other data is one error, with no File.
// DecodeJSON does not validate the flags; see [Compile] and [Parse].
func DecodeJSON(data []byte) (*File, error) {
	t := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(t) == 0:
		return nil, errors.New("feature: empty flag file")
	case t[0] != '{':
		return nil, errors.New("feature: decoding JSON: the flag file must be a JSON object")
	}
	d := &jsonDecoder{dec: json.NewDecoder(bytes.NewReader(data)), data: data, f: &File{Lines: map[string]int{}}}
	if err := d.file(); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("feature: decoding JSON: line %d: %w", d.line(se.Offset), err)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, errors.New("feature: decoding JSON: the file ends before the object does")
		}
		return nil, fmt.Errorf("feature: decoding JSON: %w", err)
	}
	if _, err := d.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("feature: decoding JSON: unexpected data after the top-level object")
	}
	if len(d.errs) > 0 {
		return d.f, joinProblems(d.errs)
	}
	return d.f, nil
}

// jsonDecoder walks a flag file token by token, so that one problem does
// not stop it and each is placed on its line.
type jsonDecoder struct {
	dec  *json.Decoder
	data []byte
	f    *File
	errs []*ValidationError
}

// line returns the line of byte offset off, from 1.
func (d *jsonDecoder) line(off int64) int {
	off = min(max(off, 0), int64(len(d.data)))
	return 1 + bytes.Count(d.data[:off], []byte{'\n'})
}

// here returns the line the decoder has reached: that of the key just
// read.
func (d *jsonDecoder) here() int { return d.line(d.dec.InputOffset()) }

func (d *jsonDecoder) bad(flag string, index int, field string, line int, format string, args ...any) {
	d.errs = append(d.errs, &ValidationError{Flag: flag, Index: index, Field: field, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// object reads the keys of the object whose '{' was just read, calling
// fn with each key known (the value not yet read) and reporting unknown
// and repeated keys, whose values it skips. fn returns an error only for
// malformed JSON.
func (d *jsonDecoder) object(known []string, flag func() (string, int), prefix string, fn func(key string, line int) error) error {
	seen := map[string]bool{}
	for d.dec.More() {
		tok, err := d.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		line := d.here()
		name, index := flag()
		switch {
		case !slices.Contains(known, key):
			d.bad(name, index, prefix+key, line, "unknown field; want one of %s", quoteAll(known))
		case seen[key]:
			d.bad(name, index, prefix+key, line, "given twice")
		default:
			seen[key] = true
			if err := fn(key, line); err != nil {
				return err
			}
			continue
		}
		var skip json.RawMessage
		if err := d.dec.Decode(&skip); err != nil {
			return err
		}
	}
	_, err := d.dec.Token() // '}'
	return err
}

// value decodes the next value into v, reporting a value of the wrong type
// (v is then left as it was). null leaves v as it was, as encoding/json
// does.
func (d *jsonDecoder) value(v any, want, flag string, index int, field string, line int) error {
	var raw json.RawMessage
	if err := d.dec.Decode(&raw); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		d.bad(flag, index, field, line, "want %s, got %s", want, describeJSON(raw))
	}
	return nil
}

// open reads the next token and reports whether it opens a value of kind
// delim ('{' or '['); anything else (skipped) is reported as not what was
// wanted, except null, which stands for absent.
func (d *jsonDecoder) open(delim json.Delim, want, flag string, index int, field string) (bool, error) {
	var raw json.RawMessage
	tok, err := d.dec.Token()
	if err != nil {
		return false, err
	}
	line := d.here()
	switch tok := tok.(type) {
	case json.Delim:
		if tok == delim {
			return true, nil
		}
		if err := d.skip(); err != nil { // the rest of a list or object
			return false, err
		}
		raw = json.RawMessage(map[json.Delim]string{'{': "{}", '[': "[]"}[tok])
	case nil:
		return false, nil
	default:
		raw, _ = json.Marshal(tok)
	}
	d.bad(flag, index, field, line, "want %s, got %s", want, describeJSON(raw))
	return false, nil
}

// skip reads up to the end of the list or object whose opening was read.
func (d *jsonDecoder) skip() error {
	for depth := 1; depth > 0; {
		tok, err := d.dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

func (d *jsonDecoder) file() error {
	if _, err := d.dec.Token(); err != nil { // '{', checked by DecodeJSON
		return err
	}
	top := func() (string, int) { return "", -1 }
	return d.object(FileKeys, top, "", func(key string, line int) error {
		d.f.Lines[key] = line
		switch key {
		case "kill":
			return d.value(&d.f.Kill, "a bool", "", -1, key, line)
		}
		ok, err := d.open('[', "a list of flags", "", -1, key)
		if !ok || err != nil {
			return err
		}
		for i := 0; d.dec.More(); i++ {
			if err := d.spec(i); err != nil {
				return err
			}
		}
		_, err = d.dec.Token() // ']'
		return err
	})
}

func (d *jsonDecoder) spec(i int) error {
	path := "flags[" + strconv.Itoa(i) + "]"
	d.f.Flags = append(d.f.Flags, Spec{})
	ok, err := d.open('{', "an object", "", i, "")
	d.f.Lines[path] = d.here()
	if !ok || err != nil {
		return err
	}
	sp := &d.f.Flags[i]
	first := len(d.errs)
	err = d.object(SpecKeys, func() (string, int) { return "", i }, "", func(key string, line int) error {
		d.f.Lines[path+"."+key] = line
		switch key {
		case "name":
			return d.value(&sp.Name, "a string", "", i, key, line)
		case "type":
			return d.value(&sp.Type, "a string", "", i, key, line)
		case "value":
			return d.value(&sp.Value, "a value", "", i, key, line)
		case "off":
			return d.value(&sp.Off, "a value", "", i, key, line)
		case "rollout":
			return d.value(&sp.Rollout, "a number", "", i, key, line)
		case "kill":
			return d.value(&sp.Kill, "a bool", "", i, key, line)
		case "description":
			return d.value(&sp.Description, "a string", "", i, key, line)
		}
		ok, err := d.open('[', "a list of rules", "", i, key)
		if !ok || err != nil {
			return err
		}
		for j := 0; d.dec.More(); j++ {
			if err := d.rule(sp, path, i, j); err != nil {
				return err
			}
		}
		_, err = d.dec.Token() // ']'
		return err
	})
	// The name may come after a problem: name the flag in each.
	if checkName(sp.Name) == "" && sp.Name != "" {
		for _, e := range d.errs[first:] {
			e.Flag = sp.Name
		}
	}
	return err
}

func (d *jsonDecoder) rule(sp *Spec, flagPath string, i, j int) error {
	prefix := "rules[" + strconv.Itoa(j) + "]."
	sp.Rules = append(sp.Rules, Rule{})
	ok, err := d.open('{', "an object", "", i, prefix[:len(prefix)-1])
	d.f.Lines[flagPath+"."+prefix[:len(prefix)-1]] = d.here()
	if !ok || err != nil {
		return err
	}
	r := &sp.Rules[j]
	return d.object(RuleKeys, func() (string, int) { return "", i }, prefix, func(key string, line int) error {
		d.f.Lines[flagPath+"."+prefix+key] = line
		switch key {
		case "attribute":
			return d.value(&r.Attribute, "a string", "", i, prefix+key, line)
		case "in":
			return d.value(&r.In, "a list of strings", "", i, prefix+key, line)
		case "value":
			return d.value(&r.Value, "a value", "", i, prefix+key, line)
		}
		return d.value(&r.Variant, "a string", "", i, prefix+key, line)
	})
}

// describeJSON names the kind of a JSON value for error messages.
func describeJSON(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "invalid JSON"
	}
	return describe(v)
}

func quoteAll(keys []string) string {
	var b bytes.Buffer
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(k))
	}
	return b.String()
}

// joinProblems returns the problems as one error: the problem itself when
// there is one, else errors.Join of them in order of line (problems
// without a line last).
func joinProblems(errs []*ValidationError) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	slices.SortStableFunc(errs, func(a, b *ValidationError) int {
		la, lb := a.Line, b.Line
		if la == 0 {
			la = 1 << 62
		}
		if lb == 0 {
			lb = 1 << 62
		}
		return la - lb
	})
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return errors.Join(out...)
}
