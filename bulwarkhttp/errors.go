package bulwarkhttp

import (
	"net/http"
	"strconv"
	"time"
)

// StatusError is the error a [Transport] attempt ends with when the server
// answered with a status worth retrying (Config.RetryStatus): the retry
// policy and its observer see it, the caller never does. When the retries
// run out, the caller gets Response itself, with its body intact.
//
// StatusError implements [bulwark.RetryAfter] with the delay of the
// response's Retry-After header, so the retry policy waits as long as the
// server asked.
type StatusError struct {
	// Response is the response that was received. Its body is drained and
	// closed by the transport before a retry.
	Response *http.Response
	// Wait is the delay of the Retry-After header, parsed by
	// [ParseRetryAfter]; 0 when the header is absent or malformed.
	Wait time.Duration
}

// Error returns "bulwarkhttp: 503 Service Unavailable".
func (e *StatusError) Error() string {
	code := e.Response.StatusCode
	return "bulwarkhttp: " + strconv.Itoa(code) + " " + http.StatusText(code)
}

// RetryAfter returns Wait.
func (e *StatusError) RetryAfter() time.Duration { return e.Wait }
