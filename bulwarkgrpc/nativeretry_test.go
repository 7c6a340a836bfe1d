package bulwarkgrpc

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/bulwark-go/bulwark/breaker"
)

// nativeRetry is a service config turning grpc-go's own retries on for
// every method: up to attempts attempts on UNAVAILABLE, with short backoffs.
func nativeRetry(attempts int) grpc.DialOption {
	return grpc.WithDefaultServiceConfig(`{"methodConfig": [{
		"name": [{}],
		"retryPolicy": {
			"maxAttempts": ` + string(rune('0'+attempts)) + `,
			"initialBackoff": "0.001s",
			"maxBackoff": "0.001s",
			"backoffMultiplier": 1,
			"retryableStatusCodes": ["UNAVAILABLE"]
		}
	}]}`)
}

// With a service-config retry policy on the connection, bulwark's retries
// do not multiply with grpc-go's: every attempt the server sees is one the
// breaker (and the retry budget) counted.
func TestNativeRetryPolicyDoesNotMultiply(t *testing.T) {
	ts := &testServer{unary: func(context.Context, int32, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		return nil, status.Error(codes.Unavailable, "down")
	}}
	c := newClient(t, ClientConfig{Retry: fastRetry(3), Breaker: &breaker.Config{MinimumCalls: 100}})
	client := start(t, ts, nil, append(c.DialOptions(), nativeRetry(3)))
	if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("got %v, want Unavailable", err)
	}
	var counted int
	for _, b := range c.Breakers() {
		counted += b.Snapshot().Calls
	}
	if got := ts.calls.Load(); got != 3 || counted != 3 {
		t.Errorf("server saw %d attempts, breaker counted %d; want 3 and 3", got, counted)
	}
}
