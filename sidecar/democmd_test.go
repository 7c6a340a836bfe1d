package sidecar

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDemoCommand runs `bulwark demo` for real on loopback, briefly.
func TestDemoCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"demo", "-duration", "1s"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"dashboard  http://127.0.0.1:", "Summary after 1s", "Breaker: opened"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestDemoBadDuration(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"demo", "-duration", "10ms"}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "duration must be at least 1s") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
