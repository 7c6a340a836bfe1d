package bulwarkgrpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwark-go/bulwark/adaptive"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/recovery"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

func newServer(t *testing.T, c ServerConfig) *Server {
	t.Helper()
	if c.Reporter == nil {
		c.Reporter = &recovery.Reporter{Logger: slog.New(slog.DiscardHandler)}
	}
	s, err := NewServer(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ok(context.Context, int32, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{}, nil
}

func TestServerRecoversPanics(t *testing.T) {
	var reported atomic.Int32
	rep := &recovery.Reporter{Logger: slog.New(slog.DiscardHandler), OnPanic: func(*recovery.PanicError) { reported.Add(1) }}
	ts := &testServer{
		unary: func(context.Context, int32, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
			panic("secret detail")
		},
		output: func(int32, *testpb.StreamingOutputCallRequest, testpb.TestService_StreamingOutputCallServer) error {
			panic("secret detail")
		},
	}
	s := newServer(t, ServerConfig{Reporter: rep})
	client := start(t, ts, s.ServerOptions(), nil)
	_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	if st, _ := status.FromError(err); st.Code() != codes.Internal || strings.Contains(st.Message(), "secret") {
		t.Errorf("unary panic: got %v, want Internal without the panic value", err)
	}
	stream := must(client.StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{}))(t)
	if _, err := stream.Recv(); status.Code(err) != codes.Internal {
		t.Errorf("stream panic: got %v, want Internal", err)
	}
	if reported.Load() != 2 {
		t.Errorf("%d panics reported, want 2", reported.Load())
	}
}

func TestServerBulkhead(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	ts := &testServer{
		unary: func(ctx context.Context, n int32, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
			if n == 1 {
				close(entered)
				<-release
			}
			return &testpb.SimpleResponse{}, nil
		},
		output: func(int32, *testpb.StreamingOutputCallRequest, testpb.TestService_StreamingOutputCallServer) error {
			return nil
		},
	}
	bh := must(bulkhead.New(bulkhead.Config{MaxConcurrent: 1}))(t)
	client := start(t, ts, newServer(t, ServerConfig{Bulkhead: bh}).ServerOptions(), nil)
	done := make(chan error)
	go func() {
		_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
		done <- err
	}()
	<-entered
	_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("unary over capacity: got %v, want Unavailable", err)
	}
	stream := must(client.StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{}))(t)
	if _, err := stream.Recv(); status.Code(err) != codes.Unavailable {
		t.Errorf("stream over capacity: got %v, want Unavailable", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("first call: %v", err)
	}
	if s := bh.Snapshot(); s.InUse != 0 || s.Rejected != 2 {
		t.Errorf("bulkhead: %d in use, %d rejected; want 0, 2", s.InUse, s.Rejected)
	}
}

func TestServerRateLimit(t *testing.T) {
	lim := must(ratelimit.NewKeyed(ratelimit.KeyedConfig{Config: ratelimit.Config{Limit: 1, Per: time.Hour}}))(t)
	ts := &testServer{unary: ok}
	client := start(t, ts, newServer(t, ServerConfig{RateLimitByKey: lim}).ServerOptions(), nil)
	if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("got %v, want ResourceExhausted", err)
	}
	if d, ok := RetryDelay(err); !ok || d < 59*time.Minute || d > time.Hour {
		t.Errorf("RetryDelay = %v, %v; want about an hour", d, ok)
	}
	if lim.Len() != 1 {
		t.Errorf("%d keys, want 1 (the peer's IP)", lim.Len())
	}
}

func TestServerGlobalRateLimitWithClientRetry(t *testing.T) {
	lim := must(ratelimit.New(ratelimit.Config{Rate: 50, Burst: 1}))(t)
	ts := &testServer{unary: ok}
	c := newClient(t, ClientConfig{Retry: &retry.Config{MaxAttempts: 3, Backoff: retry.Constant{Interval: time.Hour}}})
	client := start(t, ts, newServer(t, ServerConfig{RateLimit: lim}).ServerOptions(), c.DialOptions())
	start := time.Now()
	for range 2 {
		if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	// The second call is refused with a 20 ms RetryInfo, which replaces the
	// hour of backoff.
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("took %v: the RetryInfo delay was not honoured", el)
	}
	if ts.calls.Load() != 2 {
		t.Errorf("%d calls reached the handler, want 2", ts.calls.Load())
	}
}

func TestServerAdaptivePriority(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	ts := &testServer{unary: func(ctx context.Context, n int32, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		if n == 1 {
			close(entered)
			<-release
		}
		return &testpb.SimpleResponse{}, nil
	}}
	lim := must(adaptive.New(adaptive.Config{Algorithm: adaptive.AIMD{}, InitialLimit: 2, MinLimit: 2, MaxLimit: 2}))(t)
	client := start(t, ts, newServer(t, ServerConfig{Adaptive: lim}).ServerOptions(), nil)
	done := make(chan error)
	go func() {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "x-priority", "critical")
		_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{})
		done <- err
	}()
	<-entered
	low := metadata.AppendToOutgoingContext(context.Background(), "x-priority", "low")
	if _, err := client.UnaryCall(low, &testpb.SimpleRequest{}); status.Code(err) != codes.Unavailable {
		t.Errorf("low priority at 1 of 2: got %v, want Unavailable", err)
	}
	if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
		t.Errorf("normal priority at 1 of 2: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Error(err)
	}
	if s := lim.Snapshot(); s.InFlight != 0 || s.Shed != 1 {
		t.Errorf("limiter: %d in flight, %d shed; want 0, 1", s.InFlight, s.Shed)
	}
}

func TestServerTimeout(t *testing.T) {
	ts := &testServer{
		unary: func(ctx context.Context, n int32, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
			<-ctx.Done()
			if n == 1 {
				return nil, ctx.Err()
			}
			return nil, status.Error(codes.Internal, "late and wrong")
		},
		output: func(_ int32, _ *testpb.StreamingOutputCallRequest, stream testpb.TestService_StreamingOutputCallServer) error {
			<-stream.Context().Done()
			return stream.Context().Err()
		},
	}
	client := start(t, ts, newServer(t, ServerConfig{Timeout: 20 * time.Millisecond}).ServerOptions(), nil)
	for i := range 2 {
		if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("unary %d: got %v, want DeadlineExceeded", i+1, err)
		}
	}
	stream := must(client.StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{}))(t)
	if _, err := stream.Recv(); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("stream: got %v, want DeadlineExceeded", err)
	}
}

func TestServerMapsHandlerErrors(t *testing.T) {
	br := must(breaker.New(breaker.Config{Name: "db", WaitDuration: time.Minute}))(t)
	br.ForceOpen()
	ts := &testServer{unary: func(ctx context.Context, _ int32, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		_, err := br.Allow()
		return nil, fmt.Errorf("loading the user: %w", err)
	}}
	client := start(t, ts, newServer(t, ServerConfig{}).ServerOptions(), nil)
	_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	if st, _ := status.FromError(err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "loading the user") {
		t.Errorf("got %v, want Unavailable with the handler's message", err)
	}
}

func TestCode(t *testing.T) {
	tests := []struct {
		err  error
		want codes.Code
	}{
		{nil, codes.OK},
		{errors.New("plain"), codes.Unknown},
		{status.Error(codes.NotFound, "x"), codes.NotFound},
		{fmt.Errorf("wrapped: %w", status.Error(codes.Aborted, "x")), codes.Aborted},
		{&breaker.OpenError{Name: "b"}, codes.Unavailable},
		{&bulkhead.FullError{Name: "b"}, codes.Unavailable},
		{&adaptive.OverloadedError{}, codes.Unavailable},
		{&ratelimit.LimitedError{}, codes.ResourceExhausted},
		{&timeout.ExceededError{Err: status.Error(codes.Internal, "late")}, codes.DeadlineExceeded},
		{&recovery.PanicError{Value: "boom"}, codes.Internal},
		{context.Canceled, codes.Canceled},
		{context.DeadlineExceeded, codes.DeadlineExceeded},
		{&retry.ExhaustedError{Last: status.Error(codes.Unavailable, "x")}, codes.Unavailable},
		{&retry.ExhaustedError{Last: &breaker.OpenError{}}, codes.Unavailable},
	}
	for _, tc := range tests {
		if got := Code(tc.err); got != tc.want {
			t.Errorf("Code(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestErrorKeepsTheOriginal(t *testing.T) {
	oe := &ratelimit.LimitedError{Name: "api", Delay: 3 * time.Second}
	err := Error(oe)
	var got *ratelimit.LimitedError
	if !errors.As(err, &got) || got != oe || !errors.Is(err, ratelimit.ErrLimited) {
		t.Errorf("Error(%v) does not unwrap to it", oe)
	}
	if d, ok := RetryDelay(err); !ok || d != 3*time.Second {
		t.Errorf("RetryDelay = %v, %v; want 3s", d, ok)
	}
	if Error(nil) != nil {
		t.Errorf("Error(nil) is not nil")
	}
	st := status.Error(codes.NotFound, "x")
	if Error(st) != st {
		t.Errorf("Error changed a status error")
	}
	if _, ok := RetryDelay(errors.New("plain")); ok {
		t.Errorf("RetryDelay of a plain error")
	}
}

func TestNewServerErrors(t *testing.T) {
	bh := must(bulkhead.New(bulkhead.Config{MaxConcurrent: 1}))(t)
	lim := must(adaptive.New(adaptive.Config{}))(t)
	for _, tc := range []struct {
		c    ServerConfig
		want string
	}{
		{ServerConfig{Bulkhead: bh, Adaptive: lim}, "Bulkhead and Adaptive"},
		{ServerConfig{Timeout: -1}, "Timeout"},
		{ServerConfig{ClientKey: PeerIP}, "ClientKey"},
		{ServerConfig{Priority: PriorityMetadata("")}, "Priority"},
	} {
		if _, err := NewServer(tc.c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error naming %s", err, tc.want)
		}
	}
}
