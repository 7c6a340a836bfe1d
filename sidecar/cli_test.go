package sidecar

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/sidecar/internal/demo"
)

func TestMainUsage(t *testing.T) {
	tests := []struct {
		args        []string
		code        int
		out, errOut string
	}{
		{[]string{"help"}, 0, "bulwark run -config FILE", ""},
		{[]string{"-h"}, 0, "bulwark validate -config FILE", ""},
		{[]string{"--help"}, 0, "bulwark demo [-duration 30s]", ""},
		{[]string{"-help"}, 0, "bulwark version", ""},
		{[]string{"run", "-h"}, 0, "", "-config"},
		{[]string{"version"}, 0, "bulwark ", ""},
		{[]string{"--version"}, 0, "go1.", ""},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"run", "-nope"}, 2, "", "flag provided but not defined: -nope"},
		{[]string{"run", "extra"}, 2, "", `unexpected argument "extra"`},
		{[]string{"run", "-config", "/nonexistent/bulwark.yaml"}, 1, "", "no such file"},
		{[]string{"run", "-log-level", "loud"}, 2, "", "-log-level"},
		{[]string{"validate", "-config", filepath.Join("..", "examples", "sidecar", "bulwark.yaml")}, 0, "orders           /api/orders/ -> http://127.0.0.1:9001  [rate_limit, bulkhead, retry, breaker, timeout 800ms, request_timeout 5s]", ""},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), tt.args, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stdout.String(), tt.out) || !strings.Contains(stderr.String(), tt.errOut) {
			t.Errorf("bulwark %q: exit %d, stdout %q, stderr %q; want exit %d, %q, %q",
				tt.args, code, stdout.String(), stderr.String(), tt.code, tt.out, tt.errOut)
		}
	}
}

func TestMainValidateBad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte(route0+"    breaker:\n      failure_rate: 1.5\n    retry: {methods: [POST]}\n"), 0o644)
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"validate", "-config", path}, &stdout, &stderr); code != 1 {
		t.Errorf("exit %d", code)
	}
	for _, want := range []string{"routes[0].breaker.failure_rate: must be in (0,1], got 1.5 (line 7)", `routes[0].retry.methods[0]: "POST" is not an idempotent method`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}

// TestMainRun starts `bulwark -config` on loopback and stops it through its
// context, as SIGINT would.
func TestMainRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulwark.yaml")
	os.WriteFile(path, []byte("listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0}\nshutdown_timeout: 1s\n"+route0), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	if code := Main(ctx, []string{"-config", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"msg=serving", "msg=\"shutting down\""} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, stderr.String())
		}
	}
}

func TestVersionString(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/bulwark-go/bulwark", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := versionString(bi), "bulwark v1.2.3 revision abc123 (modified) of 2026-01-02T03:04:05Z go1.26.0"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	bi = &debug.BuildInfo{GoVersion: "go1.26.0"}
	if got, want := versionString(bi), "bulwark (devel) go1.26.0"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestDemoInterrupted: Ctrl-C during the demo gives a summary of the time
// that really passed, and the command exits 130.
func TestDemoInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newMemNet()
		var out bytes.Buffer
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(3*time.Second+500*time.Millisecond, cancel)
		sum, err := demo.Run(ctx, demo.Config{Duration: 30 * time.Second, Out: &out, ListenFunc: n.Listen, Dial: n.Dial, NewProxy: newDemoProxy})
		if err != nil {
			t.Fatal(err)
		}
		if !sum.Interrupted || sum.Duration != 3500*time.Millisecond {
			t.Errorf("interrupted %v after %v, want true after 3.5s", sum.Interrupted, sum.Duration)
		}
		if !strings.Contains(out.String(), "Summary after 3.5s (interrupted):") {
			t.Errorf("output:\n%s", out.String())
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	var stdout, stderr bytes.Buffer
	if code := Main(ctx, []string{"demo", "-duration", "30s"}, &stdout, &stderr); code != 130 {
		t.Errorf("interrupted demo exited %d, want 130: %s", code, stderr.String())
	}
	if strings.Contains(stdout.String(), "Summary after 30s") {
		t.Errorf("interrupted demo claims 30s:\n%s", stdout.String())
	}
}

// bulwark run collects garbage at GOGC=400 unless GOGC is set.
func TestRunSetsGOGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	run := func() int {
		debug.SetGCPercent(100)
		Main(context.Background(), []string{"run", "-config", "/nonexistent/bulwark.yaml"}, &bytes.Buffer{}, &bytes.Buffer{})
		return debug.SetGCPercent(100)
	}
	t.Setenv("GOGC", "")
	if got := run(); got != 400 {
		t.Errorf("GOGC unset: bulwark run collects at %d, want 400", got)
	}
	t.Setenv("GOGC", "100")
	if got := run(); got != 100 {
		t.Errorf("GOGC=100 set: bulwark run changed it to %d", got)
	}
}

// With fast_path on, validate says so and names each route the fast path
// does not serve, and why.
func TestValidateFastPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fast.yaml")
	os.WriteFile(path, []byte(`fast_path: true
routes:
  - {name: plain, prefix: /a/, upstream: "http://127.0.0.1:9001", request_timeout: 1s}
  - {name: perclient, prefix: /b/, upstream: "http://127.0.0.1:9002", request_timeout: 1s, rate_limit: {rate: 10, burst: 10, per_client: true}}
  - {name: tls, prefix: /, upstream: "https://127.0.0.1:9003", request_timeout: 1s}
`), 0o644)
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"validate", "-config", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"admin on 127.0.0.1:9901, fast path on\n",
		"plain            /a/ -> http://127.0.0.1:9001  [request_timeout 1s]\n",
		"[rate_limit, request_timeout 1s, not on the fast path: rate_limit.per_client]\n",
		"[request_timeout 1s, not on the fast path: an https:// upstream]\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("validate's output lacks %q:\n%s", want, out)
		}
	}
}
