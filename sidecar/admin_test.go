package sidecar

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const adminYAML = `
routes:
  - name: api
    prefix: /api/
    upstream: %[1]s
    critical: true
    timeout: 1s
    breaker: {failure_rate: 0.5, wait: 1m}
    retry: {budget: {}}
    bulkhead: {max_concurrent: 4}
    rate_limit: {rate: 100}
    chaos: {error_rate: 0, latency_rate: 0}
  - name: plain
    prefix: /plain/
    upstream: %[1]s
`

// admin sends a request to the admin handler and decodes a JSON answer
// into out when out is not nil.
func admin(t *testing.T, s *Server, method, path string, out any, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.Host = "127.0.0.1:9901"
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.AdminHandler().ServeHTTP(rec, req)
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %d, body %q: %v", method, path, rec.Code, rec.Body.String(), err)
		}
	}
	return rec
}

func TestAdminPolicies(t *testing.T) {
	f := newFixture(t, adminYAML, upstream(t, echo("A")))
	f.get(t, "/api/x")
	var snap snapshot
	rec := admin(t, f.s, "GET", "/admin/policies", &snap)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	if snap.Generation != 1 || len(snap.Routes) != 2 {
		t.Fatalf("snapshot %+v", snap)
	}
	r := snap.Routes[0]
	if r.Name != "api" || r.Counts.Requests != 1 || r.Counts.OK != 1 {
		t.Errorf("route %+v", r)
	}
	if r.Breaker == nil || r.Breaker.State != "closed" || r.Breaker.Calls != 1 || r.Breaker.FailureThreshold != 0.5 || r.Breaker.WaitSeconds != 60 {
		t.Errorf("breaker %+v", r.Breaker)
	}
	if r.Retry == nil || r.Retry.Calls != 1 || r.Retry.Budget == nil || r.Retry.MaxAttempts != 3 {
		t.Errorf("retry %+v", r.Retry)
	}
	if r.Timeout == nil || r.Timeout.Seconds != 1 || r.Timeout.Calls != 1 {
		t.Errorf("timeout %+v", r.Timeout)
	}
	if r.Bulkhead == nil || r.Bulkhead.Capacity != 4 || r.Bulkhead.Acquired != 1 {
		t.Errorf("bulkhead %+v", r.Bulkhead)
	}
	if r.RateLimit == nil || r.RateLimit.Rate != 100 || r.RateLimit.Burst != 100 || r.RateLimit.Tokens == nil {
		t.Errorf("rate limit %+v", r.RateLimit)
	}
	if r.Chaos == nil || r.Chaos.Calls != 1 {
		t.Errorf("chaos %+v", r.Chaos)
	}
	p := snap.Routes[1]
	if p.Breaker != nil || p.Retry != nil || p.Timeout != nil || p.Bulkhead != nil || p.RateLimit != nil || p.Chaos != nil {
		t.Errorf("a route without policies reports some: %+v", p)
	}
	// The JSON names are those the dashboard reads.
	var raw map[string]any
	admin(t, f.s, "GET", "/admin/policies", &raw)
	route := raw["routes"].([]any)[0].(map[string]any)
	for _, k := range []string{"counts", "breaker", "retry", "timeout", "bulkhead", "rate_limit", "chaos"} {
		if _, ok := route[k]; !ok {
			t.Errorf("JSON route lacks %q", k)
		}
	}
}

func TestAdminBreakerActions(t *testing.T) {
	up := &counter{codes: []int{200}}
	f := newFixture(t, adminYAML, upstream(t, up.ServeHTTP))
	tests := []struct {
		path      string
		code      int
		state     string // the breaker's state after
		proxyCode int    // a request through the proxy after
	}{
		{"/admin/breakers/api/open", 200, "forced-open", 503},
		{"/admin/breakers/api/close", 200, "forced-closed", 200},
		{"/admin/breakers/api/disable", 200, "disabled", 200},
		{"/admin/breakers/api/open", 200, "forced-open", 503},
		{"/admin/breakers/api/reset", 200, "closed", 200},
		{"/admin/breakers/api/explode", 400, "closed", 200},
		{"/admin/breakers/nope/open", 404, "closed", 200},
		{"/admin/breakers/plain/open", 409, "closed", 200},
	}
	for _, tt := range tests {
		var body map[string]string
		rec := admin(t, f.s, "POST", tt.path, &body)
		if rec.Code != tt.code {
			t.Errorf("POST %s: %d %v, want %d", tt.path, rec.Code, body, tt.code)
		}
		if tt.code == 200 && body["state"] != tt.state {
			t.Errorf("POST %s: state %q, want %q", tt.path, body["state"], tt.state)
		}
		if tt.code != 200 && body["error"] == "" {
			t.Errorf("POST %s: no error message: %v", tt.path, body)
		}
		br, _ := f.s.Breaker("api")
		if br.State().String() != tt.state {
			t.Errorf("after POST %s: breaker %s, want %s", tt.path, br.State(), tt.state)
		}
		if got := f.get(t, "/api/x"); got.code != tt.proxyCode {
			t.Errorf("after POST %s: proxy answered %d, want %d", tt.path, got.code, tt.proxyCode)
		}
	}
	if rec := admin(t, f.s, "GET", "/admin/breakers/api/open", nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET on an action: %d", rec.Code)
	}
	if rec := admin(t, f.s, "POST", "/admin/breakers/api/open", nil, "Sec-Fetch-Site", "cross-site"); rec.Code != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", rec.Code)
	}
	br, _ := f.s.Breaker("api")
	if br.State().String() != "closed" {
		t.Errorf("the refused cross-site POST changed the breaker")
	}
	var snap snapshot
	admin(t, f.s, "GET", "/admin/policies", &snap)
	if ch := snap.Routes[0].Breaker.Changes; len(ch) != 5 || ch[0].To != "closed" || ch[0].Cause != "manual" {
		t.Errorf("recent changes %+v", ch)
	}
}

func TestAdminReload(t *testing.T) {
	u := upstream(t, echo("A"))
	dir := t.TempDir()
	path := filepath.Join(dir, "bulwark.yaml")
	writeConfig(t, path, adminYAML, u.URL)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ok map[string]any
	if rec := admin(t, s, "POST", "/admin/reload", &ok); rec.Code != 200 || ok["generation"] != 2.0 {
		t.Errorf("good reload: %d %v", rec.Code, ok)
	}
	os.WriteFile(path, []byte("routes:\n  - {name: api}\n"), 0o644)
	var bad map[string]any
	if rec := admin(t, s, "POST", "/admin/reload", &bad); rec.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(bad["error"].(string), "routes[0].prefix: required") || bad["generation"] != 2.0 {
		t.Errorf("bad reload: %d %v", rec.Code, bad)
	}
	noFile, err := New(mustParse(t, route0), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rec := admin(t, noFile, "POST", "/admin/reload", &bad); rec.Code != http.StatusConflict {
		t.Errorf("reload without a file: %d", rec.Code)
	}
}

func TestAdminHealth(t *testing.T) {
	f := newFixture(t, adminYAML, upstream(t, echo("A")))
	var rep struct {
		Status   string `json:"status"`
		Policies []struct {
			Name, Kind string
			Critical   bool
		} `json:"policies"`
	}
	if rec := admin(t, f.s, "GET", "/healthz", &rep); rec.Code != 200 || rep.Status != "ok" || len(rep.Policies) == 0 {
		t.Errorf("healthz: %d %+v", rec.Code, rep)
	}
	if rec := admin(t, f.s, "GET", "/readyz", &rep); rec.Code != 200 || rep.Status != "ok" {
		t.Errorf("readyz: %d %+v", rec.Code, rep)
	}
	admin(t, f.s, "POST", "/admin/breakers/api/open", nil)
	if rec := admin(t, f.s, "GET", "/readyz", &rep); rec.Code != 503 || rep.Status != "unavailable" {
		t.Errorf("readyz with the critical breaker open: %d %+v", rec.Code, rep)
	}
	if rec := admin(t, f.s, "GET", "/healthz", &rep); rec.Code != 200 {
		t.Errorf("healthz with the breaker open: %d", rec.Code)
	}
}

func TestAdminMetrics(t *testing.T) {
	f := newFixture(t, adminYAML, upstream(t, echo("A")))
	f.get(t, "/api/x")
	rec := admin(t, f.s, "GET", "/metrics", nil)
	checkMetrics(t, rec)
}

func TestDashboard(t *testing.T) {
	f := newFixture(t, adminYAML, upstream(t, echo("A")))
	// Served over HTTP, as a browser gets it.
	resp, err := f.admin.Client().Get(f.admin.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	page := string(body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	for _, want := range []string{"<!doctype html>", `getJSON("/admin/policies")`, `fetch("/admin/events"`, `getJSON("/admin/history")`, "setInterval(poll, 1000)", "/admin/breakers/", "Force open", "Force closed"} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	// Self-contained: no external script, style, image, font or import.
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|@import|url\(\s*["']?(https?:)?//`)
	if m := external.FindString(page); m != "" {
		t.Errorf("dashboard loads an external asset: %q", m)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if rec := admin(t, f.s, "GET", "/nothing", nil); rec.Code != 404 {
		t.Errorf("unknown admin path: %d", rec.Code)
	}
}
