package sidecar

import (
	"fmt"
	"strings"
	"testing"
)

// TestParseReportsEveryError: a typo does not hide the value errors of the
// rest of the file.
func TestParseReportsEveryError(t *testing.T) {
	yaml := `routes:
  - name: api
    prefx: /api/
    upstream: ftp://x
    breaker: {failure_rate: 2, wait: -1s, window: sideways}
    retry: {max_attempts: 99}
  - name: api
    prefix: /b/
    upstream: http://127.0.0.1:1
    timeout: soon
`
	_, err := ParseConfig([]byte(yaml))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"routes[0].prefx: unknown key",
		"routes[0].prefix: required",
		"routes[0].upstream: must be an http or https URL",
		"routes[0].breaker.window: must be count, time or consecutive",
		"routes[0].breaker.failure_rate: must be in (0,1]",
		"routes[0].breaker.wait: must not be negative",
		"routes[0].retry.max_attempts: must be in 1..10",
		"routes[1].name: \"api\" is also the name of routes[0]",
		"routes[1].timeout: must be a duration",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "routes[1].timeout: must not") {
		t.Errorf("a refused value reported twice:\n%v", err)
	}
}

func TestParseCapsErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("routes:\n")
	for i := range 300 {
		fmt.Fprintf(&b, "  - {name: r%d, prefix: /%d/, upstream: http://x, timeout: -1s, bogus: 1}\n", i, i)
	}
	_, err := ParseConfig([]byte(b.String()))
	es, ok := err.(ConfigErrors)
	if !ok {
		t.Fatalf("%T %v", err, err)
	}
	if len(es) != MaxReportedErrors+1 {
		t.Errorf("%d errors reported, want %d and a count", len(es), MaxReportedErrors)
	}
	if last := es[len(es)-1].Error(); last != "... and 550 more errors" {
		t.Errorf("last line %q", last)
	}
	if n := len(err.Error()); n > 20<<10 {
		t.Errorf("error text is %d bytes", n)
	}
}

// TestParseCapsBreakerMemory: routes that alias one large breaker block
// cannot make a small file ask for gigabytes.
func TestParseCapsBreakerMemory(t *testing.T) {
	var b strings.Builder
	b.WriteString("routes:\n")
	for i := range 100 {
		fmt.Fprintf(&b, "  - {name: r%d, prefix: /%d/, upstream: http://x, breaker: *big}\n", i, i)
	}
	yaml := strings.Replace(b.String(), "breaker: *big}", "breaker: &big {window_size: 1000000, minimum_calls: 10}}", 1)
	_, err := ParseConfig([]byte(yaml))
	if err == nil || !strings.Contains(err.Error(), "routes[67].breaker.window_size: the breaker windows of routes[0..67] need 65 MiB together, more than the 64 MiB allowed") {
		t.Errorf("got %v", err)
	}
	// 64 routes fit.
	yaml = yaml[:strings.Index(yaml, "  - {name: r64,")]
	if _, err := ParseConfig([]byte(yaml)); err != nil {
		t.Errorf("64 MB of windows: %v", err)
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"bad indent", `listen: 127.0.0.1:8080
routes:
  - name: api
    prefix: /api/
    upstream: http://127.0.0.1:9000
    breaker:
      wait: 1s
     failure_rate: 0.5
`, "(line 8, column 6)"},
		{"tab", "routes:\n  - name: api\n\tprefix: /\n", "(line 3, column 1)"},
		{"mapping value", "routes:\n  - name: api\n    prefix: /api/\n    upstream: http://x: y: z\n", "(line 4, column 5)"},
	}
	for _, tt := range tests {
		_, err := ParseConfig([]byte(tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %s", tt.name, err, tt.want)
		}
	}
}
