package sidecar

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMainUsage(t *testing.T) {
	tests := []struct {
		args        []string
		code        int
		out, errOut string
	}{
		{[]string{"help"}, 0, "bulwark run -config FILE", ""},
		{[]string{"-h"}, 0, "", "-config"},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"run", "-nope"}, 2, "", "flag provided but not defined: -nope"},
		{[]string{"run", "extra"}, 2, "", `unexpected argument "extra"`},
		{[]string{"run", "-config", "/nonexistent/bulwark.yaml"}, 1, "", "no such file"},
		{[]string{"run", "-log-level", "loud"}, 2, "", "-log-level"},
		{[]string{"validate", "-config", filepath.Join("..", "examples", "sidecar", "bulwark.yaml")}, 0, "orders           /api/orders/ -> http://127.0.0.1:9001  [rate_limit, bulkhead, retry, breaker, timeout 800ms]", ""},
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
