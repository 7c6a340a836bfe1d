package sidecar

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testToken = "s3cret-token-0123456789"

const authYAML = `
admin:
  listen: 127.0.0.1:0
  token_file: %[2]s
  public: %[3]s
routes:
  - name: api
    prefix: /api/
    upstream: %[1]s
    critical: true
    breaker: {wait: 1m}
`

// adminEndpoints are every endpoint of the admin API.
var adminEndpoints = []struct{ method, path string }{
	{"GET", "/"},
	{"GET", "/admin/policies"},
	{"GET", "/admin/events"},
	{"GET", "/admin/history"},
	{"POST", "/admin/breakers/api/open"},
	{"POST", "/admin/breakers/api/close"},
	{"POST", "/admin/breakers/api/reset"},
	{"POST", "/admin/breakers/api/disable"},
	{"POST", "/admin/reload"},
	{"GET", "/metrics"},
	{"GET", "/healthz"},
	{"GET", "/readyz"},
}

// authServer starts a server from a config file with a token file, and
// rewrites the file so that a reload would add a route.
func authServer(t *testing.T, public string) (*Server, string) {
	t.Helper()
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	u := upstream(t, echo("A"))
	path := filepath.Join(dir, "bulwark.yaml")
	writeConfig(t, path, authYAML, u.URL, tok, public)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	writeConfig(t, path, authYAML+"  - {name: added, prefix: /added/, upstream: %[1]s}\n", u.URL, tok, public)
	return s, path
}

func adminReq(s *Server, method, path, host string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	req.Host = host
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.AdminHandler().ServeHTTP(rec, req)
	return rec
}

// TestAdminRefusesAttackers sends every admin endpoint without a token,
// with a wrong one, with a rebinding Host and from a cross-site page: every
// request is refused and nothing changes.
func TestAdminRefusesAttackers(t *testing.T) {
	s, _ := authServer(t, "[]")
	const host = "127.0.0.1:9901"
	bearer := "Bearer " + testToken
	attacks := []struct {
		name   string
		host   string
		header []string
	}{
		{"no token", host, nil},
		{"wrong token", host, []string{"Authorization", "Bearer " + strings.Repeat("x", len(testToken))}},
		{"token prefix", host, []string{"Authorization", "Bearer " + testToken[:len(testToken)-1]}},
		{"basic scheme", host, []string{"Authorization", "Basic " + testToken}},
		{"rebinding Host", "rebind.attacker.test:9901", []string{"Authorization", bearer,
			"Origin", "http://rebind.attacker.test:9901", "Sec-Fetch-Site", "same-origin"}},
		{"rebinding Host, no token", "rebind.attacker.test", []string{"Sec-Fetch-Site", "same-origin"}},
		{"cross-site page", host, []string{"Authorization", bearer,
			"Origin", "http://evil.test", "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "cors"}},
		{"cross-site page, no Sec-Fetch", host, []string{"Authorization", bearer, "Origin", "http://evil.test"}},
		{"same-site other port", host, []string{"Authorization", bearer,
			"Origin", "http://127.0.0.1:3000", "Sec-Fetch-Site", "same-site", "Sec-Fetch-Mode", "cors"}},
	}
	sent, refused := 0, 0
	for _, a := range attacks {
		for _, e := range adminEndpoints {
			if e.path == "/" && (a.name == "no token" || a.name == "wrong token" || a.name == "token prefix" || a.name == "basic scheme") {
				// The dashboard page is static and carries no data: it asks
				// for the token. It is checked below.
				continue
			}
			sent++
			rec := adminReq(s, e.method, e.path, a.host, a.header...)
			if rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden {
				refused++
			} else {
				t.Errorf("%s: %s %s answered %d: %s", a.name, e.method, e.path, rec.Code, rec.Body)
			}
			if strings.Contains(rec.Body.String(), "127.0.0.1:") && e.path != "/" {
				t.Errorf("%s: %s %s leaked an address: %s", a.name, e.method, e.path, rec.Body)
			}
		}
	}
	t.Logf("%d of %d attacks refused", refused, sent)
	br, _ := s.Breaker("api")
	if st := br.State().String(); st != "closed" {
		t.Errorf("breaker %s after the attacks, want closed", st)
	}
	if g := s.Generation(); g != 1 {
		t.Errorf("generation %d after the attacks: a reload went through", g)
	}
	// The page itself: no data in it.
	rec := adminReq(s, "GET", "/", host)
	if rec.Code != 200 || strings.Contains(rec.Body.String(), "127.0.0.1") {
		t.Errorf("dashboard page without a token: %d", rec.Code)
	}
	// With the token, on loopback, the same requests work.
	if rec := adminReq(s, "POST", "/admin/breakers/api/open", "localhost:9901", "Authorization", bearer); rec.Code != 200 {
		t.Errorf("with the token: %d %s", rec.Code, rec.Body)
	}
	if rec := adminReq(s, "POST", "/admin/reload", "[::1]:9901", "Authorization", "bearer "+testToken); rec.Code != 200 || s.Generation() != 2 {
		t.Errorf("reload with the token: %d %s", rec.Code, rec.Body)
	}
	if st := br.State().String(); st != "forced-open" {
		t.Errorf("forced-open lost on reload: %s", st)
	}
}

func TestAdminPublicEndpoints(t *testing.T) {
	s, _ := authServer(t, `["/metrics", "/healthz", "/readyz"]`)
	for _, e := range adminEndpoints {
		rec := adminReq(s, e.method, e.path, "localhost")
		open := e.path == "/" || e.path == "/metrics" || e.path == "/healthz" || e.path == "/readyz"
		if open != (rec.Code == 200) {
			t.Errorf("%s %s without a token: %d (public: %v)", e.method, e.path, rec.Code, open)
		}
	}
	// Public is for reads only.
	if rec := adminReq(s, "POST", "/metrics", "localhost"); rec.Code != http.StatusUnauthorized {
		t.Errorf("POST /metrics without a token: %d", rec.Code)
	}
}

// TestAdminHostCheckWithoutToken: on loopback without a token, the API is
// open to local clients but not to a rebinding page or another site.
func TestAdminHostCheckWithoutToken(t *testing.T) {
	f := newFixture(t, adminYAML+"admin: {hosts: [bulwark.internal]}\n", upstream(t, echo("A")))
	tests := []struct {
		host   string
		header []string
		want   int
	}{
		{"127.0.0.1:9901", nil, 200},
		{"localhost:9901", nil, 200},
		{"admin.localhost", nil, 200},
		{"[::1]:9901", nil, 200},
		{"BULWARK.internal:9901", nil, 200},
		{"rebind.attacker.test:9901", []string{"Sec-Fetch-Site", "same-origin"}, 403},
		{"127.0.0.1.nip.io", nil, 403},
		{"", nil, 403},
		{"127.0.0.1:9901", []string{"Sec-Fetch-Site", "cross-site"}, 403},
	}
	for _, tt := range tests {
		if rec := adminReq(f.s, "GET", "/admin/policies", tt.host, tt.header...); rec.Code != tt.want {
			t.Errorf("Host %q %v: %d, want %d", tt.host, tt.header, rec.Code, tt.want)
		}
	}
}

func TestAdminExposureNeedsToken(t *testing.T) {
	tests := []struct {
		admin string
		want  string // "" for valid
	}{
		{"{listen: 0.0.0.0:9901}", "admin.listen: \"0.0.0.0:9901\" is reachable from other machines"},
		{"{listen: \":9901\"}", "admin.listen: \":9901\" is reachable"},
		{"{listen: \"[::]:9901\"}", "is reachable"},
		{"{listen: 10.1.2.3:9901}", "is reachable"},
		{"{listen: 0.0.0.0:9901, token_env: BULWARK_TOKEN}", ""},
		{"{listen: localhost:9901}", ""},
		{"{listen: \"[::1]:9901\"}", ""},
		{"{public: [/metrics]}", "admin.public: applies only with a token"},
		{"{token_env: X, public: [/admin/policies]}", "admin.public[0]: must be one of"},
		{"{token_env: X, token_file: /y}", "admin.token_env: set at most one"},
	}
	for _, tt := range tests {
		_, err := ParseConfig([]byte("admin: " + tt.admin + "\n" + route0))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.admin, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want %q", tt.admin, err, tt.want)
		}
	}
	// run refuses to start.
	dir := t.TempDir()
	path := filepath.Join(dir, "b.yaml")
	os.WriteFile(path, []byte("admin: {listen: 0.0.0.0:0}\n"+route0), 0o644)
	var out, errb strings.Builder
	if code := Main(t.Context(), []string{"run", "-config", path}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "set admin.token_file or admin.token_env") {
		t.Errorf("run with an exposed admin and no token: %d %q", code, errb.String())
	}
}

func TestAdminTokenSources(t *testing.T) {
	t.Setenv("BULWARK_TEST_TOKEN", " "+testToken+"\n")
	a, err := newAdminAuth(&AdminConfig{TokenEnv: "BULWARK_TEST_TOKEN"}, os.Getenv)
	if err != nil || !a.hasToken {
		t.Fatal(a, err)
	}
	for _, tt := range []struct {
		c    AdminConfig
		want string
	}{
		{AdminConfig{TokenEnv: "BULWARK_TEST_UNSET"}, "admin.token_env: environment variable BULWARK_TEST_UNSET is not set"},
		{AdminConfig{TokenFile: filepath.Join(t.TempDir(), "none")}, "admin.token_file: open"},
	} {
		if _, err := newAdminAuth(&tt.c, os.Getenv); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.c, err, tt.want)
		}
	}
	t.Setenv("BULWARK_TEST_TOKEN", "short")
	_, err = newAdminAuth(&AdminConfig{TokenEnv: "BULWARK_TEST_TOKEN"}, os.Getenv)
	if err == nil || strings.Contains(err.Error(), "short") {
		t.Errorf("a short token: %v (the token must not appear)", err)
	}
	_ = fmt.Sprint
}
