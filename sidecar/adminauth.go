package sidecar

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// MinAdminTokenLength is the shortest admin token accepted (admin.token_file
// or admin.token_env), in bytes.
const MinAdminTokenLength = 16

// publicEndpoints are the endpoints admin.public may leave open.
var publicEndpoints = []string{"/metrics", "/healthz", "/readyz"}

// adminAuth is what the admin API checks on every request: the Host, the
// bearer token and the endpoints left open. It is built from the config on
// each apply.
type adminAuth struct {
	token    [sha256.Size]byte // SHA-256 of the token: compared in constant time, whatever its length
	hasToken bool
	public   map[string]bool
	hosts    map[string]bool
}

// newAdminAuth reads the token that c names (from a file or an environment
// variable, through getenv). Its errors name the key and never contain the
// token.
func newAdminAuth(c *AdminConfig, getenv func(string) string) (*adminAuth, error) {
	a := &adminAuth{public: map[string]bool{}, hosts: map[string]bool{}}
	for _, p := range c.Public {
		a.public[p] = true
	}
	for _, h := range c.Hosts {
		a.hosts[strings.ToLower(strings.TrimSuffix(h, "."))] = true
	}
	var tok, key string
	switch {
	case c.TokenFile != "":
		key = "admin.token_file"
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		tok = strings.TrimSpace(string(b))
	case c.TokenEnv != "":
		key = "admin.token_env"
		tok = strings.TrimSpace(getenv(c.TokenEnv))
		if tok == "" {
			return nil, fmt.Errorf("%s: environment variable %s is not set or empty", key, c.TokenEnv)
		}
	default:
		return a, nil
	}
	if len(tok) < MinAdminTokenLength {
		return nil, fmt.Errorf("%s: the token is %d bytes, fewer than the %d required", key, len(tok), MinAdminTokenLength)
	}
	if strings.ContainsAny(tok, " \t\r\n") {
		return nil, fmt.Errorf("%s: the token must not contain white space", key)
	}
	a.token, a.hasToken = sha256.Sum256([]byte(tok)), true
	return a, nil
}

// allowHost reports whether host (a request's Host header) names this
// admin API: localhost, a name under .localhost, an IP literal or a name
// listed in admin.hosts. A DNS-rebinding page reaches the API under its own
// name, which is none of these.
func (a *adminAuth) allowHost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.ToLower(strings.TrimSuffix(strings.Trim(h, "[]"), "."))
	switch {
	case h == "":
		return false
	case h == "localhost" || strings.HasSuffix(h, ".localhost"):
		return true
	case net.ParseIP(h) != nil:
		return true
	}
	return a.hosts[h]
}

// allowToken reports whether req carries the token, or needs none.
func (a *adminAuth) allowToken(req *http.Request) bool {
	if !a.hasToken {
		return true
	}
	if req.URL.Path == "/" && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
		return true // the dashboard page: static, it asks for the token
	}
	if a.public[req.URL.Path] && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
		return true
	}
	scheme, tok, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(sum[:], a.token[:]) == 1
}

// crossSite reports whether a browser marked req as sent by another site's
// page. A top-level navigation to the dashboard page is let through: it
// gets static HTML and nothing else.
func crossSite(req *http.Request) bool {
	switch req.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return false
	case "":
		// No Sec-Fetch-Site: not a browser, or an older one. An Origin, if
		// any, must be the Host the request was sent to.
		o := req.Header.Get("Origin")
		if o == "" {
			return false
		}
		if _, host, ok := strings.Cut(o, "://"); ok && strings.EqualFold(host, req.Host) {
			return false
		}
	}
	if req.URL.Path == "/" && req.Method == http.MethodGet && req.Header.Get("Sec-Fetch-Mode") == "navigate" {
		return false
	}
	return true
}

// guard refuses, before anything else runs, a request whose Host is not
// accepted (403), one a browser marks as cross-site (403) and one without
// the token when a token is set (401).
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		a := s.auth.Load()
		switch {
		case !a.allowHost(req.Host):
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "admin: Host " + strconv.Quote(req.Host) +
				" is not accepted: use localhost, an IP address, or list the name in admin.hosts"})
		case crossSite(req):
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "admin: cross-site requests are refused"})
		case !a.allowToken(req):
			w.Header().Set("WWW-Authenticate", `Bearer realm="bulwark admin"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "admin: a bearer token is required (Authorization: Bearer <token>)"})
		default:
			next.ServeHTTP(w, req)
		}
	})
}

// loopbackOnly reports whether the listen address addr binds loopback
// only: "localhost" or a loopback IP. An empty host, 0.0.0.0, :: and any
// other name or address can be reached from elsewhere.
func loopbackOnly(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// admin validates the admin block.
func (v *validator) admin(c *AdminConfig) {
	if c.TokenFile != "" && c.TokenEnv != "" {
		v.fail("admin.token_env", "set at most one of token_file and token_env")
	}
	if c.TokenEnv != "" && !envName.MatchString(c.TokenEnv) {
		v.fail("admin.token_env", "must be an environment variable name, got %q", c.TokenEnv)
	}
	hasToken := c.TokenFile != "" || c.TokenEnv != ""
	if c.Listen != "" && !loopbackOnly(c.Listen) && !hasToken {
		v.fail("admin.listen", "%q is reachable from other machines: set admin.token_file or admin.token_env, or listen on 127.0.0.1", c.Listen)
	}
	if len(c.Public) > 0 && !hasToken {
		v.fail("admin.public", "applies only with a token (admin.token_file or admin.token_env): without one every endpoint is open")
	}
	for i, p := range c.Public {
		path := fmt.Sprintf("admin.public[%d]", i)
		switch {
		case !slices.Contains(publicEndpoints, p):
			v.fail(path, "must be one of %s, got %q", strings.Join(publicEndpoints, ", "), p)
		case slices.Index(c.Public, p) < i:
			v.fail(path, "%s is listed twice", p)
		}
	}
	for i, h := range c.Hosts {
		if !hostName.MatchString(h) {
			v.fail(fmt.Sprintf("admin.hosts[%d]", i), "must be a host name without scheme or port, got %q", h)
		}
	}
}
