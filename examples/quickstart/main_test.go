package main

import (
	"strings"
	"testing"
	"testing/synctest"

	"github.com/bulwark-go/bulwark/internal/leakcheck"
)

// TestQuickstart runs the whole program in virtual time and checks the story
// it tells: the breaker opens while the dependency is down, rejects, probes,
// and closes once it has recovered.
func TestQuickstart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out strings.Builder
		if err := run(&out, 12, 4); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		for _, want := range []string{
			"[closed→open]", "rejected", "open→half-open", "half-open→closed",
			"probe ok", "breaker now closed",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("output lacks %q:\n%s", want, got)
			}
		}
		lines := strings.Split(got, "\n")
		if !strings.HasPrefix(lines[3], "0    closed     ok, ok, ok, ok") {
			t.Errorf("first second should be all ok, got %q", lines[3])
		}
		if !strings.HasPrefix(lines[14], "11   closed     ok, ok, ok, ok") {
			t.Errorf("last second should be all ok, got %q", lines[14])
		}
	})
}

func TestMain(m *testing.M) { leakcheck.Main(m) }
