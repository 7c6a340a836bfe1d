package bulwarkgrpc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/health"
	"github.com/bulwark-go/bulwark/prommetrics"
)

// breakerState returns the value of bulwark_breaker_state{name, state}, or
// -1 if the registry has no such series.
func breakerState(t *testing.T, reg *prometheus.Registry, name, state string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "bulwark_breaker_state" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["name"] == name && labels["state"] == state {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

func readyz(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A per-method breaker forgotten to make room and made again is followed by
// the metrics and the readiness check: when the new one opens,
// bulwark_breaker_state and /readyz say so.
func TestWatchersFollowRemadeBreakers(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics := must(prommetrics.New(prommetrics.Config{Registerer: reg}))(t)
	h := health.New()
	hs := httptest.NewServer(h.Ready())
	defer hs.Close()

	ts := &testServer{unary: func(context.Context, int32, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		return nil, status.Error(codes.Unavailable, "down")
	}}
	c := newClient(t, ClientConfig{
		Breaker:     &breaker.Config{Name: "users", Window: breaker.WindowConsecutive, WindowSize: 2, WaitDuration: time.Hour},
		MaxBreakers: 1,
		Watchers:    []Watcher{metrics, h.Critical()},
	})
	client := start(t, ts, nil, c.DialOptions())
	const unary = "users:/grpc.testing.TestService/UnaryCall"

	// Made on first use, watched before any scrape or poll.
	client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	if got := breakerState(t, reg, unary, "closed"); got != 1 {
		t.Fatalf("first breaker: closed = %v, want 1", got)
	}
	// Another method takes the only place: the UnaryCall breaker is
	// forgotten, and so are its state series.
	client.EmptyCall(context.Background(), &testpb.Empty{})
	if got := breakerState(t, reg, unary, "closed"); got != -1 {
		t.Errorf("forgotten breaker still reported: closed = %v", got)
	}
	// Made again, and opened.
	client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); status.Code(err) != codes.Unavailable || ts.calls.Load() != 3 {
		t.Fatalf("got %v after %d calls, want the breaker open after 3", err, ts.calls.Load())
	}
	if got := breakerState(t, reg, unary, "open"); got != 1 {
		t.Errorf("re-made breaker open, bulwark_breaker_state open = %v, want 1", got)
	}
	if code := readyz(t, hs.URL); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz %d with a critical breaker open, want 503", code)
	}
	// Forgotten again (an open breaker goes only when all are open):
	// the service is ready again.
	client.EmptyCall(context.Background(), &testpb.Empty{})
	if code := readyz(t, hs.URL); code != http.StatusOK {
		t.Errorf("/readyz %d once the open breaker is forgotten, want 200", code)
	}
}
