package bulwarkgrpc

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/bulwark-go/bulwark/timeout"
)

// A server's own DeadlineExceeded (its database timed out, or a bulwark
// server's Timeout ran out) is an answer, not the attempt's timeout: it is
// neither retried nor reported as a *timeout.ExceededError.
func TestServerDeadlineExceededIsNotAnAttemptTimeout(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ts     *testServer
		server ServerConfig
		bulwk  bool
	}{
		{name: "handler answers DeadlineExceeded", ts: &testServer{unary: func(context.Context, int32, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
			return nil, status.Error(codes.DeadlineExceeded, "db timed out")
		}}},
		{name: "bulwark server Timeout", bulwk: true, server: ServerConfig{Timeout: 10 * time.Millisecond},
			ts: &testServer{unary: func(ctx context.Context, _ int32, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, ClientConfig{Retry: fastRetry(3), AttemptTimeout: 2 * time.Second})
			var sopts = newServer(t, tc.server).ServerOptions()
			client := start(t, tc.ts, sopts, c.DialOptions())
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{})
			var ee *timeout.ExceededError
			if status.Code(err) != codes.DeadlineExceeded || errors.As(err, &ee) || errors.Is(err, errAttemptTimeout) {
				t.Errorf("got %v (ExceededError %v), want the server's DeadlineExceeded as it is", err, ee)
			}
			if n := tc.ts.calls.Load(); n != 1 {
				t.Errorf("server saw %d attempts, want 1 (not retried)", n)
			}
		})
	}
}

// An attempt that ran out of AttemptTimeout is still one, whether the
// client's copy of the deadline or the server's ends it first.
func TestAttemptTimeoutSeenByTheServer(t *testing.T) {
	ts := &testServer{unary: func(ctx context.Context, n int32, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		if n == 1 {
			<-ctx.Done() // the propagated attempt deadline
			return nil, status.Error(codes.DeadlineExceeded, "server saw the deadline pass")
		}
		return &testpb.SimpleResponse{}, nil
	}}
	c := newClient(t, ClientConfig{Retry: fastRetry(3), AttemptTimeout: 50 * time.Millisecond})
	client := start(t, ts, nil, c.DialOptions())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil || ts.calls.Load() != 2 {
		t.Errorf("got %v after %d attempts, want success after 2", err, ts.calls.Load())
	}
}
