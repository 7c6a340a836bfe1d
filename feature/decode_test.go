package feature

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Every problem of a file's shape is reported with Compile's, each with
// the flag, the field and the line; a problem that follows from one already
// reported (a field of the wrong type is also missing) is not repeated.
func TestParseReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string // each line of the error, in order
	}{
		{"unknown field and bad rollout", `{"flags": [
  {"name": "a", "type": "bool", "value": true,
   "extra": 1,
   "rollout": 120}
]}`, []string{
			`feature: flag "a": extra: unknown field; want one of "name", "type", "value", "off", "rollout", "rules", "kill", "description" (line 3)`,
			`feature: flag "a": rollout: 120 is outside 0..100 (line 4)`,
		}},
		{"problem before the name", `{"flags": [
  {"type": 3, "name": "b", "value": true}
]}`, []string{
			`feature: flag "b": type: want a string, got number 3 (line 2)`,
		}},
		{"given twice", `{"flags": [{"name": "c", "type": "bool", "value": true,
  "value": false}]}`, []string{
			`feature: flag "c": value: given twice (line 2)`,
		}},
		{"flag not an object", `{"flags": [
  {"name": "d", "type": "bool", "value": true},
  7,
  {"name": "e", "type": "bool", "value": 1}
]}`, []string{
			`feature: flag #2: want an object, got number 7 (line 3)`,
			`feature: flag "e": value: want a bool, got number 1 (line 4)`,
		}},
		{"rules", `{"flags": [{"name": "f", "type": "bool", "value": true, "rules": [
  {"attribute": "plan", "in": "free"},
  {"attribute": "country", "in": ["NZ"], "colour": "red"},
  "x"
]}]}`, []string{
			`feature: flag "f": rules[0].in: want a list of strings, got string "free" (line 2)`,
			`feature: flag "f": rules[1].colour: unknown field; want one of "attribute", "in", "value", "variant" (line 3)`,
			`feature: flag "f": rules[2]: want an object, got string "x" (line 4)`,
		}},
		{"file level", `{"kill": "yes",
 "flag": [],
 "flags": {}}`, []string{
			`feature: kill: want a bool, got string "yes" (line 1)`,
			`feature: flag: unknown field; want one of "kill", "flags" (line 2)`,
			`feature: flags: want a list of flags, got an object (line 3)`,
		}},
		{"syntax", "{\"flags\": [\n  {\"name\": }\n]}", []string{
			`feature: decoding JSON: line 2: invalid character '}' looking for beginning of value`,
		}},
		{"truncated", `{"flags": [`, []string{`feature: decoding JSON: the file ends before the object does`}},
		{"trailing", `{"flags": []} {}`, []string{`feature: decoding JSON: unexpected data after the top-level object`}},
		{"not an object", `[]`, []string{`feature: decoding JSON: the flag file must be a JSON object`}},
		{"empty", " \n", []string{`feature: empty flag file`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.file))
			if err == nil || s != nil {
				t.Fatalf("Parse = %v, %v; want an error", s, err)
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", err, strings.Join(tt.want, "\n"))
			}
			if probs := problems(err); probs != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not match ErrInvalid", err)
			}
		})
	}
}

// DecodeJSON's File has every key's line.
func TestDecodeJSONLines(t *testing.T) {
	f, err := DecodeJSON([]byte(`{
"kill": false,
"flags": [
  {"name": "a",
   "type": "bool", "value": true,
   "rules": [
     {"attribute": "x",
      "in": ["y"]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"kill": 2, "flags": 3, "flags[0]": 4, "flags[0].name": 4, "flags[0].type": 5, "flags[0].value": 5,
		"flags[0].rules": 6, "flags[0].rules[0]": 7, "flags[0].rules[0].attribute": 7, "flags[0].rules[0].in": 8,
	}
	if !reflect.DeepEqual(f.Lines, want) {
		t.Errorf("Lines = %v\nwant %v", f.Lines, want)
	}
}

// FuzzDecodeJSON checks DecodeJSON against encoding/json's strict decoder:
// a file DecodeJSON accepts decodes the same there; a file it finds
// problems in still yields a File, and each problem has a line in the file.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		evalFile, badFile, `{}`, `{"flags":null}`, `{"flags":[null,1,"x",[],{}]}`,
		`{"flags":[{"name":"a","type":"bool","value":true,"extra":1,"rollout":120}]}`,
		`{"flags":[{"name":"a","name":"b","rules":[{"in":"x"},{"in":[1]},3,{"zz":{}}]}]}`,
		`{"kill":1,"zz":[{"a":[]}],"flags":{"a":1}}`,
		`{"flags":[{"Name":"a","type":"bool","value":true}]}`,
		"{\n\"flags\": [\n{\"rollout\": \"x\"}\n]\n}", `{"flags":[`, `{"flags":[]} x`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := DecodeJSON(data)
		lines := 1 + bytes.Count(data, []byte{'\n'})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			probs := problems(err)
			if (file != nil) != (probs != nil) {
				t.Fatalf("file %v with error %v: want a file exactly when the error lists problems", file != nil, err)
			}
			for _, p := range probs {
				if p.Line < 1 || p.Line > lines || p.Msg == "" {
					t.Fatalf("problem %q: line %d of %d", p, p.Line, lines)
				}
			}
			if file != nil {
				_, _ = Compile(file) // must not panic on a partial file
			}
			return
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var want File
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("DecodeJSON accepted what encoding/json refuses: %v", err)
		}
		for k, l := range file.Lines {
			if l < 1 || l > lines {
				t.Fatalf("Lines[%q] = %d of %d", k, l, lines)
			}
		}
		got := *file
		got.Lines = nil
		if !reflect.DeepEqual(normal(got), normal(want)) {
			t.Fatalf("DecodeJSON = %+v\nencoding/json = %+v", got, want)
		}
	})
}

// normal makes empty and nil lists alike, which the two decoders may
// leave differently.
func normal(f File) File {
	if len(f.Flags) == 0 {
		f.Flags = nil
	}
	for i := range f.Flags {
		if len(f.Flags[i].Rules) == 0 {
			f.Flags[i].Rules = nil
		}
	}
	return f
}
