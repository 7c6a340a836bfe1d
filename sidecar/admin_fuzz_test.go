package sidecar

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fuzzAdminToken = "fuzz-token-0123456789abcdef"

// FuzzAdminHandler sends the admin API arbitrary methods, paths, Host and
// Authorization headers and bodies. It never panics, never answers 500,
// answers the API's paths in JSON, and a request without the token never
// changes a breaker's state. (A redirect to the clean path has no body.)
func FuzzAdminHandler(f *testing.F) {
	for _, s := range [][5]string{
		{"POST", "/admin/breakers/api/open", "127.0.0.1:9901", "Bearer " + fuzzAdminToken, ""},
		{"POST", "/admin/breakers/api/open", "127.0.0.1:9901", "", ""},
		{"POST", "/admin/breakers/api/close", "localhost", "Bearer wrong", ""},
		{"POST", "/admin/breakers/api/disable", "evil.example", "Bearer " + fuzzAdminToken, ""},
		{"POST", "/admin/breakers/nope/reset", "[::1]:9901", "Bearer " + fuzzAdminToken, "{}"},
		{"POST", "/admin/breakers/api/explode", "127.0.0.1", "Bearer " + fuzzAdminToken, ""},
		{"POST", "/admin/breakers/%2e%2e/open", "127.0.0.1", "bearer " + fuzzAdminToken, ""},
		{"POST", "/admin/reload", "127.0.0.1", "Bearer " + fuzzAdminToken, "x"},
		{"GET", "/admin/policies", "127.0.0.1", "Bearer " + fuzzAdminToken, ""},
		{"GET", "/metrics", "127.0.0.1", "", ""},
		{"GET", "/readyz", "a.localhost", "", ""},
		{"DELETE", "/", "127.0.0.1", "", ""},
		{"GET", "//admin/policies/../policies", "127.0.0.1", "Basic Zm9vOmJhcg==", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], []byte(s[4]))
	}
	tokenFile := filepath.Join(f.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(fuzzAdminToken+"\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	cfg, err := ParseConfig([]byte(`
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
  token_file: ` + tokenFile + `
  public: [/healthz]
routes:
  - name: api
    prefix: /
    upstream: http://127.0.0.1:1
    critical: true
    breaker: {window: consecutive, window_size: 5}
`))
	if err != nil {
		f.Fatal(err)
	}
	s, err := New(cfg, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Close)
	h := s.AdminHandler()
	br, err := s.Breaker("api")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path, host, auth string, body []byte) {
		u, err := url.ParseRequestURI(path)
		if err != nil || method == "" || strings.ContainsAny(method, " \t\r\n") {
			return
		}
		req := &http.Request{
			Method: method, URL: u, RequestURI: path, Host: host, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
			RemoteAddr: "127.0.0.1:50000",
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		before := br.State()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 && w.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %q (Host %q): status %d: %s", method, path, host, w.Code, w.Body)
		}
		// ServeMux answers an unclean path ("/admin/.") with a bodiless
		// redirect to the clean one, which then answers in JSON.
		redirect := w.Code >= 300 && w.Code < 400
		if strings.HasPrefix(u.Path, "/admin/") && !redirect && w.Code != http.StatusNotFound && w.Code != http.StatusMethodNotAllowed {
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("%s %q: status %d, body not JSON: %q", method, path, w.Code, w.Body)
			}
		}
		if auth != "Bearer "+fuzzAdminToken && br.State() != before {
			t.Fatalf("%s %q with Authorization %q changed the breaker from %v to %v (status %d)", method, path, auth, before, br.State(), w.Code)
		}
		// Put the breaker back for the next input.
		br.Reset()
	})
}
