package bulwarkhttp

import (
	"net/http"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/ratelimit"
)

func TestSetRateLimitHeaders(t *testing.T) {
	h := http.Header{}
	SetRateLimitHeaders(h, ratelimit.Decision{Limit: 10, Remaining: -1, ResetAfter: 1500 * time.Millisecond})
	for k, want := range map[string]string{"RateLimit-Limit": "10", "RateLimit-Remaining": "0", "RateLimit-Reset": "2"} {
		if got := h.Values(k); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want [%q]", k, got, want)
		}
	}
	// The three values share an array: adding to one header must not
	// overwrite the next.
	h.Add("RateLimit-Limit", "x")
	if got := h.Get("RateLimit-Remaining"); got != "0" {
		t.Errorf("after Add to RateLimit-Limit, RateLimit-Remaining = %q", got)
	}
	// On every request of a rate-limited route: one allocation (the
	// values), none to canonicalise the keys.
	d := ratelimit.Decision{Limit: 50, Remaining: 7, ResetAfter: time.Second}
	h = http.Header{}
	if n := testing.AllocsPerRun(100, func() { SetRateLimitHeaders(h, d) }); n > 1 {
		t.Errorf("SetRateLimitHeaders allocates %v times, want at most 1", n)
	}
}
