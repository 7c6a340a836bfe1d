package bulwarkhttp

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// FuzzClientIP feeds ClientIP arbitrary peers and X-Forwarded-For headers.
// It never panics, and what it returns is one of: the peer's host, or an
// address written in X-Forwarded-For (normalised) when the peer is a
// trusted proxy. An untrusted peer is never able to choose the answer,
// and, when some entry is untrusted, the answer is never a trusted one.
func FuzzClientIP(f *testing.F) {
	for _, s := range [][3]string{
		{"203.0.113.9:4242", "", ""},
		{"10.0.0.2:80", "198.51.100.7", ""},
		{"10.0.0.2:80", "1.2.3.4, 198.51.100.7, 10.0.0.1", ""},
		{"10.0.0.2:80", "1.2.3.4", "10.0.0.3, 10.0.0.4"},
		{"[::1]:80", "[2001:db8::1]:443, ::ffff:192.0.2.1", ""},
		{"10.0.0.2:80", "10.0.0.1, 10.0.0.5", ""},
		{"10.0.0.2:80", "not-an-ip", ""},
		{"10.0.0.2:80", ",,, ,", "  "},
		{"[::ffff:10.0.0.2]:80", "192.0.2.1:99999", ""},
		{"garbage", "192.0.2.1", ""},
		{"", "", ""},
		{"10.0.0.2:80", "fe80::1%eth0", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	withTrust, noTrust := ClientIP(trusted...), ClientIP()
	f.Fuzz(func(t *testing.T, peer, xff1, xff2 string) {
		r := &http.Request{RemoteAddr: peer, Header: http.Header{}}
		for _, v := range []string{xff1, xff2} {
			if v != "" {
				r.Header.Add("X-Forwarded-For", v)
			}
		}
		host := hostOf(peer)
		if got := noTrust(r); got != host {
			t.Fatalf("with no trusted proxies ClientIP = %q, want the peer %q", got, host)
		}
		got := withTrust(r)
		if got == host {
			return
		}
		pa, err := netip.ParseAddr(host)
		if err != nil || !within(pa.Unmap(), trusted) {
			t.Fatalf("untrusted peer %q: ClientIP = %q, want the peer", peer, got)
		}
		a, err := netip.ParseAddr(got)
		if err != nil {
			t.Fatalf("ClientIP = %q: neither the peer %q nor an address", got, host)
		}
		var entries []netip.Addr
		for _, v := range []string{xff1, xff2} {
			for _, e := range strings.Split(v, ",") {
				if e = strings.TrimSpace(e); e != "" {
					if ea, ok := parseForwarded(e); ok {
						entries = append(entries, ea)
					}
				}
			}
		}
		found, anyUntrusted := false, false
		for _, e := range entries {
			found = found || e == a
			anyUntrusted = anyUntrusted || !within(e, trusted)
		}
		if !found {
			t.Fatalf("ClientIP = %q, not an entry of X-Forwarded-For %q %q", got, xff1, xff2)
		}
		if anyUntrusted && within(a, trusted) {
			t.Fatalf("ClientIP = %q, a trusted proxy, while X-Forwarded-For %q %q names an untrusted client", got, xff1, xff2)
		}
	})
}
