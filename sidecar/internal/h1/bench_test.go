package h1

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkRoundTrip compares a bodiless GET over loopback through this
// client and through net/http's Transport, keep-alive, one at a time.
func BenchmarkRoundTrip(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	defer srv.Close()
	fb := http.DefaultTransport.(*http.Transport).Clone()
	tr := New(fb)
	defer tr.CloseIdleConnections()
	for _, c := range []struct {
		name string
		rt   http.RoundTripper
	}{{"h1", tr}, {"nethttp", fb}} {
		b.Run(c.name, func(b *testing.B) {
			req, err := http.NewRequestWithContext(context.Background(), "GET", srv.URL, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				resp, err := c.rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
