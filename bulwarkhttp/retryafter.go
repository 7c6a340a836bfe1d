package bulwarkhttp

import (
	"net/http"
	"time"
)

// MaxRetryAfter is the largest delay ParseRetryAfter returns: a longer
// Retry-After, in either form, is returned as MaxRetryAfter, so that a huge
// or far-future value cannot overflow a time.Duration.
const MaxRetryAfter = 24 * time.Hour

// ParseRetryAfter parses the value of a Retry-After header (RFC 9110,
// section 10.2.3), in either of its forms: a number of seconds ("120") or an
// HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT", and the two obsolete date
// formats http.ParseTime accepts), measured from now.
//
// It reports false for an empty or malformed value and for a negative
// number. A date in the past gives 0 and true: the server says "now". The
// result is never negative and never more than [MaxRetryAfter].
func ParseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	if value == "" {
		return 0, false
	}
	if d, ok := parseSeconds(value); ok {
		return d, true
	}
	t, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now) // saturates at the extremes of a Duration
	switch {
	case d < 0:
		return 0, true
	case d > MaxRetryAfter:
		return MaxRetryAfter, true
	}
	return d, true
}

// parseSeconds parses delta-seconds: one or more ASCII digits, nothing else.
// Values beyond MaxRetryAfter are capped without overflowing.
func parseSeconds(s string) (time.Duration, bool) {
	const maxSeconds = int64(MaxRetryAfter / time.Second)
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n <= maxSeconds { // stop growing once past the cap
			n = n*10 + int64(c-'0')
		}
	}
	if n > maxSeconds {
		n = maxSeconds
	}
	return time.Duration(n) * time.Second, true
}
