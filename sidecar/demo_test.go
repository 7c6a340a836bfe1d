package sidecar

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestDemo runs the whole demo (upstream, proxy, load, report) for 12
// seconds of virtual time on an in-memory network.
func TestDemo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newMemNet()
		var out bytes.Buffer
		start := time.Now()
		sum, err := RunDemo(t.Context(), DemoConfig{
			Duration: 12 * time.Second, Out: &out, ListenFunc: n.Listen, Dial: n.Dial,
		})
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 12*time.Second || d > 15*time.Second {
			t.Errorf("the demo took %v of virtual time, want about 12s", d)
		}
		if sum.Opened < 1 || sum.Closed < 1 {
			t.Errorf("breaker opened %d and closed %d times, want both at least once\n%s", sum.Opened, sum.Closed, out.String())
		}
		if last := sum.Changes[len(sum.Changes)-1]; last.To != "closed" {
			t.Errorf("the breaker ends %s, want closed once the upstream is healthy", last.To)
		}
		if sum.OK == 0 || sum.BreakerOpen == 0 || sum.RateLimited == 0 || sum.Retried == 0 {
			t.Errorf("summary %+v: want ok answers, breaker rejections, rate limiting and retries", sum)
		}
		for _, want := range []string{"dashboard  http://127.0.0.1:", "Summary after 12s", "Breaker: opened", "closed    -> open", "half-open -> closed"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
		if lines := strings.Count(out.String(), "s  healthy") + strings.Count(out.String(), "s  failing") + strings.Count(out.String(), "s  slow"); lines < 11 {
			t.Errorf("%d per-second lines, want 12:\n%s", lines, out.String())
		}
	})
}

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
