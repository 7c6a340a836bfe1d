package sidecar

import "strings"

// UnboundedWaits describes what can hold a request of this route, its
// handler and its bulkhead slot, with no limit, because no deadline covers
// it: "" when request_timeout is set. Like HAProxy's warning for a proxy
// without timeouts, it is not an error (a route may stream for hours by
// design), but `bulwark validate` prints it and the server logs it when it
// applies the config.
func (r *RouteConfig) UnboundedWaits() string {
	if r.RequestTimeout > 0 {
		return ""
	}
	waits := []string{"a client that stops reading its answer"}
	if r.ClientBodyTimeout == 0 {
		waits = append(waits, "a client that trickles its body (no client_body_timeout)")
	}
	if r.Timeout == 0 {
		waits = append(waits, "an upstream that never answers (no timeout)")
	}
	last := len(waits) - 1
	list := waits[0]
	if last > 0 {
		list = strings.Join(waits[:last], ", ") + " or " + waits[last]
	}
	return "no request_timeout: " + list + " holds the request and its bulkhead slot with no limit"
}
