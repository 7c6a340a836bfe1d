package bench

import (
	"net/http"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulwarkhttp"
	"github.com/bulwark-go/bulwark/retry"
)

// bulwarkHTTPCases: bulwarkhttp.Transport with retries on (the peers'
// setup: failsafehttp with its retry policy, go-retryablehttp's client), and
// with retries plus a per-host breaker.
func bulwarkHTTPCases() []httpClientCase {
	mk := func(c bulwarkhttp.TransportConfig) func(tr *http.Transport) *http.Client {
		return func(tr *http.Transport) *http.Client {
			c.Base = tr
			t, err := bulwarkhttp.NewTransport(c)
			if err != nil {
				panic(err)
			}
			return &http.Client{Transport: t}
		}
	}
	return []httpClientCase{
		{"bulwark", mk(bulwarkhttp.TransportConfig{Retry: &retry.Config{}})},
		{"bulwark-retry-breaker", mk(bulwarkhttp.TransportConfig{Retry: &retry.Config{}, Breaker: &breaker.Config{}})},
	}
}
