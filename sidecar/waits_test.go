package sidecar

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestUnboundedWaits(t *testing.T) {
	tests := []struct {
		route RouteConfig
		want  string
	}{
		{RouteConfig{RequestTimeout: time.Second}, ""},
		{RouteConfig{}, "no request_timeout: a client that stops reading its answer, a client that trickles its body (no client_body_timeout) or an upstream that never answers (no timeout) holds the request and its bulkhead slot with no limit"},
		{RouteConfig{Timeout: time.Second}, "no request_timeout: a client that stops reading its answer or a client that trickles its body (no client_body_timeout) holds"},
		{RouteConfig{Timeout: time.Second, ClientBodyTimeout: time.Second}, "no request_timeout: a client that stops reading its answer holds"},
	}
	for _, tt := range tests {
		got := tt.route.UnboundedWaits()
		if (tt.want == "") != (got == "") || !strings.HasPrefix(got, tt.want) {
			t.Errorf("%+v: %q, want %q", tt.route, got, tt.want)
		}
	}
}

// `bulwark validate` warns of a route without deadlines, and not of the
// example config, which sets them.
func TestValidateWarnsOfUnboundedWaits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulwark.yaml")
	if err := os.WriteFile(path, []byte(route0), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		warn bool
	}{{path, true}, {filepath.Join("..", "examples", "sidecar", "bulwark.yaml"), false}} {
		var stdout, stderr bytes.Buffer
		if code := Main(context.Background(), []string{"validate", "-config", tt.path}, &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s", tt.path, code, stderr.String())
		}
		if got := strings.Contains(stderr.String(), "warning: route api: no request_timeout"); got != tt.warn {
			t.Errorf("%s: warning on stderr %v, want %v:\n%s", tt.path, got, tt.warn, stderr.String())
		}
		if !tt.warn && stderr.Len() > 0 {
			t.Errorf("%s: unexpected output on stderr:\n%s", tt.path, stderr.String())
		}
		if strings.Contains(stdout.String(), "warning") {
			t.Errorf("%s: a warning on stdout:\n%s", tt.path, stdout.String())
		}
	}
}

func TestServerLogsUnboundedWaits(t *testing.T) {
	cfg, err := ParseConfig([]byte(route0))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.Contains(logs.String(), `level=WARN msg="route has no deadline" route=api detail="no request_timeout`) {
		t.Fatalf("no warning logged:\n%s", logs.String())
	}
}
