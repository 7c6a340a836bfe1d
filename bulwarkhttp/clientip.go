package bulwarkhttp

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP returns a key function giving the IP address of a request's
// client, for RateLimitByKey.
//
// With no trusted proxies it is the address of the connection's peer
// (Request.RemoteAddr), and headers are ignored: any client can write
// X-Forwarded-For. Behind proxies of your own, list their addresses: when
// the peer is within one of trusted, X-Forwarded-For is read from the right
// (the entry the nearest proxy appended) leftwards, skipping the entries
// within trusted, and the first entry that is not trusted is the client.
// Entries further left were written by the client and are never believed.
// If every entry is trusted, the leftmost is taken; if an entry is not an
// IP address, the peer is taken. IPv4-mapped IPv6 addresses are given in
// their IPv4 form.
func ClientIP(trusted ...netip.Prefix) func(*http.Request) string {
	trusted = append([]netip.Prefix(nil), trusted...)
	return func(r *http.Request) string {
		peer := hostOf(r.RemoteAddr)
		if len(trusted) == 0 {
			return peer
		}
		addr, err := netip.ParseAddr(peer)
		if err != nil || !within(addr.Unmap(), trusted) {
			return peer
		}
		values := r.Header.Values("X-Forwarded-For")
		last := ""
		for i := len(values) - 1; i >= 0; i-- {
			v := values[i]
			for v != "" {
				var entry string
				if j := strings.LastIndexByte(v, ','); j >= 0 {
					entry, v = v[j+1:], v[:j]
				} else {
					entry, v = v, ""
				}
				entry = strings.TrimSpace(entry)
				if entry == "" {
					continue
				}
				a, ok := parseForwarded(entry)
				if !ok {
					return peer
				}
				if !within(a, trusted) {
					return a.String()
				}
				last = a.String()
			}
		}
		if last != "" {
			return last
		}
		return peer
	}
}

// hostOf returns the host part of a "host:port" address, or the address
// itself when it has no port.
func hostOf(hostport string) string {
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		return host
	}
	return hostport
}

// parseForwarded parses an X-Forwarded-For entry: an address, possibly
// with a port ("192.0.2.1:443", "[2001:db8::1]:443").
func parseForwarded(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func within(a netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
