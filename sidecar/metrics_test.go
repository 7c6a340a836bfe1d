package sidecar

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// checkMetrics checks the answer of GET /metrics while Prometheus metrics
// are not built in.
func checkMetrics(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), "not built in") {
		t.Errorf("/metrics: %d %q", rec.Code, rec.Body.String())
	}
}
