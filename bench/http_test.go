package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/failsafe-go/failsafe-go/failsafehttp"
	"github.com/hashicorp/go-retryablehttp"
)

// The HTTP benchmarks send GET requests that succeed to a loopback
// httptest server. Every client gets its own http.Transport with the same
// settings; "bare" is that transport alone, the floor the others are
// measured against.

func newHTTPServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	b.Cleanup(srv.Close)
	return srv
}

func newTransport() *http.Transport {
	return &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}
}

type httpClientCase struct {
	name string
	new  func(tr *http.Transport) *http.Client
}

func httpCases() []httpClientCase {
	cases := []httpClientCase{
		{"bare", func(tr *http.Transport) *http.Client { return &http.Client{Transport: tr} }},
	}
	cases = append(cases, bulwarkHTTPCases()...)
	cases = append(cases,
		httpClientCase{"failsafehttp", func(tr *http.Transport) *http.Client {
			return &http.Client{Transport: failsafehttp.NewRoundTripper(tr, failsafehttp.NewRetryPolicyBuilder().Build())}
		}},
		httpClientCase{"retryablehttp", func(tr *http.Transport) *http.Client {
			c := retryablehttp.NewClient()
			c.HTTPClient = &http.Client{Transport: tr}
			c.Logger = nil
			return c.StandardClient()
		}},
	)
	return cases
}

func get(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return err
}

// BenchmarkHTTPGet: one GET that succeeds, with retries configured.
func BenchmarkHTTPGet(b *testing.B) {
	srv := newHTTPServer(b)
	for _, c := range httpCases() {
		b.Run(c.name, func(b *testing.B) {
			tr := newTransport()
			defer tr.CloseIdleConnections()
			client := c.new(tr)
			if err := get(client, srv.URL); err != nil { // warm the connection
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := get(client, srv.URL); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkHTTPGetParallel(b *testing.B) {
	srv := newHTTPServer(b)
	for _, c := range httpCases() {
		b.Run(c.name, func(b *testing.B) {
			tr := newTransport()
			defer tr.CloseIdleConnections()
			client := c.new(tr)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := get(client, srv.URL); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
