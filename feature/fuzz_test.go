package feature

import (
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		evalFile,
		flagFile("a"),
		badFile,
		`{}`,
		`{"kill":true,"flags":[]}`,
		`{"flags":[{"name":"n","type":"number","value":1e308,"off":-1e308,"rollout":0.0001}]}`,
		`{"flags":[{"name":"s","type":"string","value":"","rules":[{"attribute":"","in":[]}]}]}`,
		`{"flags":[{"name":"x","type":"bool","value":true},{"name":"x","type":"bool","value":true}]}`,
		`{"flags":[{"name":"x","type":"bool","value":true,"rollout":101}]}`,
		`{"flags":[{"name":"x","type":"bool","value":null}]}`,
		`{"flags":null}`,
		`{"flags":[null]}`,
		`[]`, `null`, `""`, ``, `{`, `{"flags":[{"name":"x"}]} trailing`,
	} {
		f.Add([]byte(seed))
	}
	targets := []Target{
		{},
		{Key: "user-1"},
		{Key: "user-2", Attrs: map[string]string{"": "", "country": "NZ", "a": "1"}},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if s != nil {
				t.Fatalf("Parse returned a set and an error %v", err)
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		for _, name := range s.Names() {
			typ, ok := s.Type(name)
			if !ok {
				t.Fatalf("Names lists %q but Type does not know it", name)
			}
			for _, tg := range targets {
				ev := s.Evaluate(name, tg)
				if ev.Err != nil {
					if !errors.Is(ev.Err, ErrMissingKey) || tg.Key != "" {
						t.Fatalf("Evaluate(%q, %+v) error %v", name, tg, ev.Err)
					}
					continue
				}
				var typeOK bool
				switch typ {
				case TypeBool:
					_, typeOK = ev.Value.(bool)
				case TypeString:
					_, typeOK = ev.Value.(string)
				case TypeNumber:
					_, typeOK = ev.Value.(float64)
				}
				if !typeOK || ev.Type != typ || ev.Variant == "" || ev.Reason == "" {
					t.Fatalf("Evaluate(%q, %+v) = %+v for a %v flag", name, tg, ev, typ)
				}
			}
		}
	})
}
