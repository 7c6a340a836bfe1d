package bulwarkgrpc

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
)

// arrivals records when each unary call reaches the server, before any
// policy.
type arrivals struct {
	mu sync.Mutex
	at []time.Time
}

func (a *arrivals) option() grpc.ServerOption {
	return grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		a.mu.Lock()
		a.at = append(a.at, time.Now())
		a.mu.Unlock()
		return h(ctx, req)
	})
}

func (a *arrivals) times() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Time(nil), a.at...)
}

// pushbackMs returns the grpc-retry-pushback-ms trailer as a duration.
func pushbackMs(t *testing.T, md metadata.MD) (time.Duration, bool) {
	t.Helper()
	v := md.Get("grpc-retry-pushback-ms")
	if len(v) != 1 {
		return 0, false
	}
	ms, err := strconv.Atoi(v[0])
	if err != nil {
		t.Fatalf("grpc-retry-pushback-ms %q: %v", v[0], err)
	}
	return time.Duration(ms) * time.Millisecond, true
}

// grpc-go's own retry policy reads the pushback trailer, not RetryInfo: a
// bulwark server sends both, and a native client waits as asked.
func TestNativeClientHonoursServerPushback(t *testing.T) {
	const delay = 200 * time.Millisecond
	lim := must(ratelimit.New(ratelimit.Config{Rate: 5, Burst: 1}))(t) // a token every 200 ms
	var arr arrivals
	srv := newServer(t, ServerConfig{RateLimit: lim})
	client := start(t, &testServer{unary: ok}, append([]grpc.ServerOption{arr.option()}, srv.ServerOptions()...),
		[]grpc.DialOption{grpc.WithDefaultServiceConfig(`{"methodConfig": [{"name": [{}], "retryPolicy": {
			"maxAttempts": 2, "initialBackoff": "0.001s", "maxBackoff": "0.001s", "backoffMultiplier": 1,
			"retryableStatusCodes": ["RESOURCE_EXHAUSTED"]}}]}`)})
	if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
		t.Fatalf("second call, retried by grpc-go: %v", err)
	}
	at := arr.times()
	if len(at) != 3 {
		t.Fatalf("server saw %d attempts, want 3", len(at))
	}
	// The refusal asked for the time to the next token, about delay less
	// what passed since the first call.
	want := delay - at[1].Sub(at[0]) - 10*time.Millisecond
	if gap := at[2].Sub(at[1]); gap < want {
		t.Errorf("grpc-go retried %v after the refusal, want at least %v (the pushback)", gap, want)
	}
}

// A refusal of the bulkhead says when to come back, in RetryInfo and in the
// pushback trailer, as every refusal does.
func TestServerRefusalsCarryBothDelays(t *testing.T) {
	bh := must(bulkhead.New(bulkhead.Config{MaxConcurrent: 1}))(t)
	if !bh.TryAcquire() { // full: every call is refused
		t.Fatal("TryAcquire failed on an empty bulkhead")
	}
	defer bh.Release()
	lim := must(ratelimit.New(ratelimit.Config{Limit: 1, Per: time.Hour}))(t)
	if !lim.Check().Allowed { // used up for an hour
		t.Fatal("the limiter refused its first call")
	}
	for _, tc := range []struct {
		name string
		cfg  ServerConfig
		code codes.Code
		want time.Duration
	}{
		{"bulkhead", ServerConfig{Bulkhead: bh, BulkheadRetryAfter: 300 * time.Millisecond}, codes.Unavailable, 300 * time.Millisecond},
		{"bulkhead default", ServerConfig{Bulkhead: bh}, codes.Unavailable, DefaultBulkheadRetryAfter},
		{"rate limit", ServerConfig{RateLimit: lim}, codes.ResourceExhausted, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := start(t, &testServer{unary: ok}, newServer(t, tc.cfg).ServerOptions(), nil)
			var trailer metadata.MD
			_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}, grpc.Trailer(&trailer))
			if status.Code(err) != tc.code {
				t.Fatalf("got %v, want %v", err, tc.code)
			}
			ri, ok := RetryDelay(err)
			if !ok || ri > tc.want || ri < tc.want-time.Minute/2 {
				t.Errorf("RetryInfo %v, %v; want about %v", ri, ok, tc.want)
			}
			pb, ok := pushbackMs(t, trailer)
			if !ok || pb < ri.Truncate(time.Millisecond) || pb > ri+time.Millisecond {
				t.Errorf("grpc-retry-pushback-ms %v, %v; want RetryInfo's %v in ms", pb, ok, ri)
			}
		})
	}
	t.Run("stream", func(t *testing.T) {
		client := start(t, &testServer{}, newServer(t, ServerConfig{Bulkhead: bh}).ServerOptions(), nil)
		stream := must(client.StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{}))(t)
		_, err := stream.Recv()
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("got %v, want Unavailable", err)
		}
		ri, _ := RetryDelay(err)
		if pb, ok := pushbackMs(t, stream.Trailer()); !ok || ri != DefaultBulkheadRetryAfter || pb != ri {
			t.Errorf("RetryInfo %v, pushback %v, %v; want %v twice", ri, pb, ok, DefaultBulkheadRetryAfter)
		}
	})
}

// A server that sends only the pushback trailer (grpc-go's own servers,
// proxies following gRFC A6) is honoured too: its delay replaces the
// backoff, and a negative one means do not retry.
func TestClientHonoursPushbackTrailer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		trailer  string
		calls    int32
		delays   []time.Duration
		wantCode codes.Code
	}{
		{"delay", "40", 2, []time.Duration{40 * time.Millisecond}, codes.OK},
		{"negative: no retry", "-1", 1, nil, codes.Unavailable},
		{"not a number: no retry", "soon", 1, nil, codes.Unavailable},
		{"longer than MaxPushback", "3600000", 1, nil, codes.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := &testServer{unary: func(ctx context.Context, n int32, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
				if n == 1 {
					grpc.SetTrailer(ctx, metadata.Pairs(PushbackTrailer, tc.trailer))
					return nil, status.Error(codes.Unavailable, "busy")
				}
				return &testpb.SimpleResponse{}, nil
			}}
			var delays []time.Duration
			rc := fastRetry(3)
			rc.OnRetry = func(_ context.Context, e retry.Event) { delays = append(delays, e.Delay) }
			c := newClient(t, ClientConfig{Retry: rc})
			client := start(t, ts, nil, c.DialOptions())
			_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
			if status.Code(err) != tc.wantCode || ts.calls.Load() != tc.calls || !slices.Equal(delays, tc.delays) {
				t.Errorf("got %v after %d calls, waits %v; want %v after %d, waits %v",
					err, ts.calls.Load(), delays, tc.wantCode, tc.calls, tc.delays)
			}
		})
	}
}
