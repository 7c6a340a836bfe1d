package sidecar

import (
	"crypto/sha256"
	"encoding/base64"
	"hash/maphash"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
	"strings"
)

// parseTrusted parses a trusted_proxies entry: a CIDR prefix or a single
// address.
func parseTrusted(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// trustedPrefixes returns the config's trusted_proxies (validated).
func (c *Config) trustedPrefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(c.TrustedProxies))
	for _, s := range c.TrustedProxies {
		if p, err := parseTrusted(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// fromTrusted reports whether req's peer is one of the trusted proxies.
func (r *route) fromTrusted(req *http.Request) bool {
	if len(r.trusted) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// keySeed makes per-client keys unpredictable, so that no client can
// choose a header value that collides with another's.
var keySeed = maphash.MakeSeed()

// clientKey is the key of req's client for a per-client rate limit: the
// client_header's value, hashed to a fixed size (a header of any length
// costs the limiter the same memory), or the client's IP address. With
// trusted_proxies set, the header is believed only from those proxies.
func (r *route) clientKey(req *http.Request) string {
	if v := r.clientHeader(req); v != "" {
		return "h:" + strconv.FormatUint(maphash.String(keySeed, v), 36)
	}
	return "ip:" + r.clientIP(req)
}

// sharedClientKey is clientKey for a limit kept in Redis: the same on
// every replica, so the header's value is hashed with SHA-256 (truncated
// to 128 bits) rather than a seed of this process.
func (r *route) sharedClientKey(req *http.Request) string {
	if v := r.clientHeader(req); v != "" {
		sum := sha256.Sum256([]byte(v))
		return "h:" + base64.RawURLEncoding.EncodeToString(sum[:16])
	}
	return "ip:" + r.clientIP(req)
}

// clientHeader returns the value of the route's client_header, when it is
// set and believed (with trusted_proxies, from those proxies only).
func (r *route) clientHeader(req *http.Request) string {
	if h := r.cfg.RateLimit.ClientHeader; h != "" && (len(r.trusted) == 0 || r.fromTrusted(req)) {
		return req.Header.Get(h)
	}
	return ""
}

// forwarded sets the headers that tell the upstream who the client is.
// X-Forwarded-For is the peer's address, appended to the incoming list
// when the peer is a trusted proxy (replacing it otherwise: a client can
// write anything there); X-Real-IP is the client's address as the sidecar
// determined it (bulwarkhttp.ClientIP), never the client's own header.
func (r *route) forwarded(pr *httputil.ProxyRequest) {
	pr.SetXForwarded()
	if r.fromTrusted(pr.In) {
		if prior := pr.In.Header.Values("X-Forwarded-For"); len(prior) > 0 {
			pr.Out.Header.Set("X-Forwarded-For", strings.Join(prior, ", ")+", "+pr.Out.Header.Get("X-Forwarded-For"))
		}
	}
	pr.Out.Header["X-Real-Ip"] = []string{r.clientIP(pr.In)} // canonical key: no allocation to canonicalise it
	// The proxy answers Expect: 100-continue itself (net/http sends the
	// 100 when the body is first read); asked again, the upstream would
	// send a second 100 that would reach the client.
	pr.Out.Header.Del("Expect")
}
