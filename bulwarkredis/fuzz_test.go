package bulwarkredis

import (
	"strings"
	"testing"
)

// The breaker-sharing messages and key values come from anyone who can
// write to the Redis: parseMessage and parseState must refuse what they
// cannot read, never panic, and keep what they accept in range.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		"open a 1000", "close a 1000", "open a 1000 ffff",
		"open evil 0 999999999999", "open evil 999999999999999", "open evil 99999999999999999999999",
		"open evil 32503680000000", "open evil -5", "open evil +5", "close evil 0", "half-open a 1",
		"", " ", "open  1", "open a 1 2 3", "open\ta\t1", "open a 0x10",
		message{open: true, instance: "a", at: 1000}.format("k", []byte("s")),
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, withSecret bool) {
		var secret []byte
		if withSecret {
			secret = []byte("s")
		}
		m, err := parseMessage("k", s, secret)
		if err != nil {
			if m != (message{}) {
				t.Errorf("parseMessage(%q) returned %+v with its error", s, m)
			}
			return
		}
		if m.at < 0 || m.at > maxMillis || m.instance == "" || strings.ContainsAny(m.instance, " ") {
			t.Errorf("parseMessage(%q) accepted %+v", s, m)
		}
		// What was accepted reads back the same once written out.
		for _, sec := range [][]byte{nil, []byte("s")} {
			back, err := parseMessage("k", m.format("k", sec), sec)
			if err != nil || back != m {
				t.Errorf("parseMessage(format(%+v)) = %+v, %v", m, back, err)
			}
		}
		if _, err := parseState("k", s, secret); err != nil && m.open {
			t.Errorf("parseState(%q): %v; parseMessage accepted it", s, err)
		}
	})
}

// FuzzParseState feeds readScript's replies as go-redis decodes them.
func FuzzParseState(f *testing.F) {
	for _, s := range []string{"open a 1000", "close a 1", "garbage", "hash", "", "open evil 999999999999999"} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(1))
		f.Add(s, uint8(2))
	}
	f.Fuzz(func(t *testing.T, s string, kind uint8) {
		var v any
		switch kind % 4 {
		case 0:
			v = s
		case 1:
			v = []any{"type", s}
		case 2:
			v = []any{s}
		default:
			v = nil
		}
		m, err := parseState("k", v, nil)
		if err == nil && m != (message{}) && (!m.open || m.at < 0 || m.at > maxMillis) {
			t.Errorf("parseState(%v) accepted %+v", v, m)
		}
	})
}
