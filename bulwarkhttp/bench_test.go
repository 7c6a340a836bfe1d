package bulwarkhttp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/retry"
)

// BenchmarkTransport measures a GET that succeeds at once, over loopback:
// the bare http.Transport, then the same under the policies. The overhead
// is the difference; the allocations must match the bare transport's.
func BenchmarkTransport(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	cases := []struct {
		name string
		cfg  *TransportConfig // nil: the bare transport
	}{
		{"bare", nil},
		{"retry", &TransportConfig{Retry: &retry.Config{}}},
		{"retry+breaker", &TransportConfig{Retry: &retry.Config{}, Breaker: &breaker.Config{}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			base := &http.Transport{MaxIdleConnsPerHost: 64}
			defer base.CloseIdleConnections()
			var rt http.RoundTripper = base
			if c.cfg != nil {
				cfg := *c.cfg
				cfg.Base = base
				tr, err := NewTransport(cfg)
				if err != nil {
					b.Fatal(err)
				}
				rt = tr
			}
			client := &http.Client{Transport: rt}
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// BenchmarkRoundTripOverhead measures the transport's own cost over a base
// that answers at once, without a network.
func BenchmarkRoundTripOverhead(b *testing.B) {
	resp := &http.Response{StatusCode: 200, Body: http.NoBody}
	base := roundTripperFunc(func(*http.Request) (*http.Response, error) { return resp, nil })
	req, _ := http.NewRequest(http.MethodGet, "http://upstream/", nil)
	for _, c := range []struct {
		name string
		cfg  TransportConfig
	}{
		{"none", TransportConfig{}},
		{"retry", TransportConfig{Retry: &retry.Config{}}},
		{"retry+breaker", TransportConfig{Retry: &retry.Config{}, Breaker: &breaker.Config{}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			c.cfg.Base = base
			tr, err := NewTransport(c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tr.RoundTrip(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
