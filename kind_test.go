package bulwark_test

import (
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark"
)

var kindDrained = bulwark.NewKind("test_drained")

func TestNewKind(t *testing.T) {
	if got := kindDrained.String(); got != "test_drained" {
		t.Errorf("String = %q, want test_drained", got)
	}
	if kindDrained <= bulwark.KindLimitChange {
		t.Errorf("NewKind returned %d, a value bulwark defines", kindDrained)
	}
	for _, name := range []string{"test_drained", "call", "", "Drained", "a-b", "_a", "a_", "a__b", "9a"} {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(r.(string), "bulwark: NewKind(") {
					t.Errorf("NewKind(%q): recovered %v; want a panic naming the fault", name, r)
				}
			}()
			bulwark.NewKind(name)
		}()
	}
	if got := bulwark.Kind(250).String(); got != "unknown" {
		t.Errorf("an unregistered kind's String = %q, want unknown", got)
	}
}
