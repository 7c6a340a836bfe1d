package sidecar

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// checkMetrics checks the answer of GET /metrics after one OK request
// through the "api" route of adminYAML.
func checkMetrics(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	body := rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d %q", rec.Code, body)
	}
	for _, want := range []string{
		`bulwark_sidecar_requests_total{outcome="ok",route="api"} 1`,
		`bulwark_sidecar_requests_total{outcome="breaker_open",route="api"} 0`,
		`bulwark_breaker_state{name="api",state="closed"} 1`,
		`bulwark_sidecar_request_duration_seconds_count{route="api"} 1`,
		`bulwark_sidecar_upstream_duration_seconds_count{route="api"} 1`,
		`bulwark_sidecar_request_duration_seconds_bucket{route="api",le="+Inf"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
