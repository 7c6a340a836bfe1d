// Package leakcheck finds goroutines that a test left running. It imports
// only the standard library, so the core policy packages can use it.
//
//	func TestMain(m *testing.M) { leakcheck.Main(m) }
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// ignored lists functions whose goroutines belong to the runtime or the
// testing package, not to the code under test.
var ignored = []string{
	"testing.(*M).",
	"testing.tRunner",
	"testing.runTests",
	"testing.(*T).Run",
	"testing.(*F).Fuzz",
	"testing.runFuzzing",
	"testing.(*B).",
	"runtime.goexit",
	"os/signal.signal_recv",
	"os/signal.loop",
	"runtime.ensureSigM",
	"runtime/trace.Start",
	"created by runtime.gc",
}

// Goroutines returns the stacks of the goroutines running now, other than
// the caller's and those of the runtime and the testing package.
func Goroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 { // the caller's own goroutine comes first
			continue
		}
		if isIgnored(g) {
			continue
		}
		out = append(out, g)
	}
	return out
}

func isIgnored(stack string) bool {
	lines := strings.Split(stack, "\n")
	if len(lines) < 2 {
		return true
	}
	top := lines[1] // lines[0] is "goroutine N [state]:"
	for _, s := range ignored {
		if strings.Contains(top, s) {
			return true
		}
	}
	// Goroutines started by the testing package itself (the test alarm, the
	// test runner) end with "created by testing...".
	for _, l := range lines {
		if strings.HasPrefix(l, "created by testing.") || strings.HasPrefix(l, "created by runtime.") ||
			strings.HasPrefix(l, "created by os/signal.") {
			return true
		}
	}
	return false
}

// Find waits up to timeout for stray goroutines to end and returns the
// stacks of those that did not.
func Find(timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		g := Goroutines()
		if len(g) == 0 || time.Now().After(deadline) {
			return g
		}
		time.Sleep(wait)
		if wait < 100*time.Millisecond {
			wait *= 2
		}
	}
}

// Main runs the tests and then fails the run if goroutines are left over.
// Use it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if left := Find(5 * time.Second); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "leakcheck: %d goroutine(s) still running after the tests:\n\n%s\n",
				len(left), strings.Join(left, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// Check registers a cleanup on t that fails t if goroutines started during
// the test are still running when it ends.
func Check(t testing.TB) {
	t.Helper()
	before := map[string]bool{}
	for _, g := range Goroutines() {
		before[goroutineID(g)] = true
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		wait := time.Millisecond
		for {
			var left []string
			for _, g := range Goroutines() {
				if !before[goroutineID(g)] {
					left = append(left, g)
				}
			}
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("leakcheck: %d goroutine(s) leaked:\n\n%s", len(left), strings.Join(left, "\n\n"))
				return
			}
			time.Sleep(wait)
			if wait < 100*time.Millisecond {
				wait *= 2
			}
		}
	})
}

func goroutineID(stack string) string {
	head, _, _ := strings.Cut(stack, " [")
	return head
}
