package demo_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/leakcheck"
	"github.com/bulwark-go/bulwark/sidecar"
	"github.com/bulwark-go/bulwark/sidecar/internal/demo"
	"github.com/bulwark-go/bulwark/sidecar/internal/memnet"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// newProxy builds the demo's proxy as the command does (sidecar's
// newDemoProxy): this test package may import the sidecar, the demo
// package may not.
func newProxy(config []byte, transport http.RoundTripper, logger *slog.Logger, onBreakerChange func(route string, c breaker.Change)) (demo.Proxy, error) {
	cfg, err := sidecar.ParseConfig(config)
	if err != nil {
		return nil, err
	}
	s, err := sidecar.New(cfg, sidecar.Options{Logger: logger, Transport: transport, OnBreakerChange: onBreakerChange})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// TestDemo runs the whole demo (upstream, proxy, load, report) for 12
// seconds of virtual time on an in-memory network.
func TestDemo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		var out bytes.Buffer
		start := time.Now()
		sum, err := demo.Run(t.Context(), demo.Config{NewProxy: newProxy,
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
		if lines := strings.Count(out.String(), "  | ") - 2; lines != 12 { // less the two header lines
			t.Errorf("%d per-second lines, want 12:\n%s", lines, out.String())
		}
	})
}

// TestDemoDefaultRunTeachesEachPhase runs the default 30 s demo in virtual
// time and checks that each phase shows its lesson, as docs/sidecar.md's sample
// output says: the failing upstream opens the breaker, which rejects at
// once; the slow upstream brings timeouts and sheds with the breaker
// closed; each row is labelled by the phase of its own second.
func TestDemoDefaultRunTeachesEachPhase(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		var out bytes.Buffer
		sum, err := demo.Run(t.Context(), demo.Config{NewProxy: newProxy, Out: &out, ListenFunc: n.Listen, Dial: n.Dial})
		if err != nil {
			t.Fatal(err)
		}
		report := out.String()
		if sum.Duration != 30*time.Second || !strings.Contains(report, "Summary after 30s:") {
			t.Errorf("duration %v", sum.Duration)
		}
		phase := map[string]demo.Phase{}
		for _, p := range sum.Phases {
			if _, seen := phase[p.Name]; !seen {
				phase[p.Name] = p
			}
		}
		failing, slow, recov := phase["failing"], phase["slow"], phase["recover"]
		if failing.BreakerOpen == 0 || failing.BreakerOpenFor < (failing.To-failing.From)/2 {
			t.Errorf("failing phase: %d breaker rejections, open %v: want the breaker open most of it", failing.BreakerOpen, failing.BreakerOpenFor)
		}
		if slow.TimedOut == 0 || slow.Shed == 0 || slow.BreakerOpenFor != 0 || slow.BreakerOpen != 0 {
			t.Errorf("slow phase: %d timeouts, %d shed, breaker open %v (%d rejections): want timeouts and sheds with the breaker closed",
				slow.TimedOut, slow.Shed, slow.BreakerOpenFor, slow.BreakerOpen)
		}
		if recov.OK == 0 || sum.Changes[len(sum.Changes)-1].To != "closed" {
			t.Errorf("the breaker does not close again")
		}
		last := sum.Phases[len(sum.Phases)-1]
		if last.BreakerOpenFor != 0 || last.TimedOut != 0 || last.BreakerOpen != 0 {
			t.Errorf("healthy again: %+v", last)
		}
		// Each row: the phase of its second, and its counts fit the label.
		rows := 0
		for line := range strings.Lines(report) {
			f := strings.Fields(line)
			if len(f) != 11 || !strings.HasSuffix(f[0], "s") || f[9] != "|" {
				continue
			}
			rows++
			sec, _ := time.ParseDuration(f[0])
			want := demo.PhaseNameAt(30*time.Second, sec-time.Second/2)
			if f[1] != want {
				t.Errorf("row %q: labelled %s, want %s", strings.TrimSpace(line), f[1], want)
			}
			ok, _ := strconv.Atoi(f[2])
			if f[1] == "failing" && ok > 20 {
				t.Errorf("row %q: a failing second with %d ok", strings.TrimSpace(line), ok)
			}
			if f[1] == "slow" && f[10] != "closed" {
				t.Errorf("row %q: the breaker is not closed in the slow phase", strings.TrimSpace(line))
			}
		}
		if rows != 30 {
			t.Errorf("%d rows, want 30:\n%s", rows, report)
		}
		for _, want := range []string{
			"shed by the bulkhead (503): too many requests in flight",
			"By phase of the upstream",
			"closed    -> open       failure-rate",
			"half-open -> closed     probes-passed",
		} {
			if !strings.Contains(report, want) {
				t.Errorf("report lacks %q", want)
			}
		}
		if t.Failed() {
			t.Logf("report:\n%s", report)
		}
		// docs/sidecar.md's sample, from a real run, shows the same lessons.
		readme, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "sidecar.md"))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for line := range strings.Lines(string(readme)) {
			f := strings.Fields(line)
			if len(f) < 10 || f[0] != "slow" || !strings.HasSuffix(f[1], "s-") {
				continue
			}
			found = true
			shed, _ := strconv.Atoi(f[6])
			timedOut, _ := strconv.Atoi(f[7])
			if shed == 0 || timedOut == 0 || f[9] != "0.0s" {
				t.Errorf("docs/sidecar.md's slow phase does not show sheds and timeouts with the breaker closed: %q", line)
			}
		}
		if !found {
			t.Error("docs/sidecar.md has no demo sample with a slow phase")
		}
	})
}
