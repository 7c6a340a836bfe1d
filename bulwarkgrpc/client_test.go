package bulwarkgrpc

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

func fastRetry(n int) *retry.Config {
	return &retry.Config{MaxAttempts: n, Backoff: retry.Constant{}}
}

func newClient(t *testing.T, c ClientConfig) *Client {
	t.Helper()
	cl, err := NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// failFirst answers the first call with code, the others with OK.
func failFirst(code codes.Code) *testServer {
	return &testServer{unary: func(_ context.Context, n int32, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		if n == 1 {
			return nil, status.Error(code, "first")
		}
		return &testpb.SimpleResponse{Payload: payload(int(n))}, nil
	}}
}

func TestUnaryRetryByCode(t *testing.T) {
	tests := []struct {
		code  codes.Code
		retry bool
	}{
		{codes.Unavailable, true}, {codes.ResourceExhausted, true},
		{codes.Internal, false}, {codes.Unknown, false}, {codes.InvalidArgument, false}, {codes.NotFound, false},
		{codes.DeadlineExceeded, false}, {codes.PermissionDenied, false}, {codes.Aborted, false}, {codes.Unimplemented, false},
	}
	for _, tc := range tests {
		t.Run(tc.code.String(), func(t *testing.T) {
			ts := failFirst(tc.code)
			c := newClient(t, ClientConfig{Retry: fastRetry(3)})
			client := start(t, ts, nil, c.DialOptions())
			_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
			wantCode, wantCalls := tc.code, int32(1)
			if tc.retry {
				wantCode, wantCalls = codes.OK, 2
			}
			if status.Code(err) != wantCode || ts.calls.Load() != wantCalls {
				t.Errorf("got %v after %d calls, want %v after %d", err, ts.calls.Load(), wantCode, wantCalls)
			}
		})
	}
}

func TestUnaryCustomRetryCodes(t *testing.T) {
	ts := failFirst(codes.Aborted)
	c := newClient(t, ClientConfig{Retry: fastRetry(3), RetryCodes: []codes.Code{codes.Aborted}})
	client := start(t, ts, nil, c.DialOptions())
	if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil || ts.calls.Load() != 2 {
		t.Errorf("got %v after %d calls, want success after 2", err, ts.calls.Load())
	}
}

func TestUnaryExhausted(t *testing.T) {
	ts := &testServer{unary: func(context.Context, int32, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		return nil, status.Error(codes.Unavailable, "down")
	}}
	c := newClient(t, ClientConfig{Retry: fastRetry(3)})
	client := start(t, ts, nil, c.DialOptions())
	_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	if status.Code(err) != codes.Unavailable || !errors.Is(err, retry.ErrExhausted) || ts.calls.Load() != 3 {
		t.Errorf("got %v (code %v) after %d calls, want Unavailable wrapped in retry.ErrExhausted after 3", err, status.Code(err), ts.calls.Load())
	}
	if st, _ := status.FromError(err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "down") {
		t.Errorf("status.FromError: %v", st)
	}
}

func TestUnaryRetryInfoHonoured(t *testing.T) {
	ts := &testServer{unary: func(_ context.Context, n int32, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		if n == 1 {
			return nil, Error(&ratelimit.LimitedError{Name: "quota", Delay: 20 * time.Millisecond})
		}
		return &testpb.SimpleResponse{}, nil
	}}
	var delays []time.Duration
	rc := fastRetry(3)
	rc.OnRetry = func(_ context.Context, e retry.Event) { delays = append(delays, e.Delay) }
	c := newClient(t, ClientConfig{Retry: rc})
	client := start(t, ts, nil, c.DialOptions())
	if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	if len(delays) != 1 || delays[0] != 20*time.Millisecond {
		t.Errorf("retry waits %v, want [20ms] from the server's RetryInfo", delays)
	}
}

func TestUnaryRetryInfoTooLongNotRetried(t *testing.T) {
	ts := &testServer{unary: func(context.Context, int32, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		return nil, Error(&ratelimit.LimitedError{Delay: time.Hour})
	}}
	c := newClient(t, ClientConfig{Retry: fastRetry(3)})
	client := start(t, ts, nil, c.DialOptions())
	_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	if status.Code(err) != codes.ResourceExhausted || ts.calls.Load() != 1 {
		t.Errorf("got %v after %d calls, want ResourceExhausted at once", err, ts.calls.Load())
	}
	if d, ok := RetryDelay(err); !ok || d != time.Hour {
		t.Errorf("RetryDelay = %v, %v; want 1h", d, ok)
	}
}

func TestBreakerPerMethodAndPerTarget(t *testing.T) {
	for _, tc := range []struct {
		name      string
		key       func(string, string) string
		emptyOpen bool
	}{
		{"per method", nil, false},
		{"per target", PerTarget, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := &testServer{unary: func(context.Context, int32, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
				return nil, status.Error(codes.Internal, "broken")
			}}
			c := newClient(t, ClientConfig{
				Breaker:    &breaker.Config{Name: "svc", Window: breaker.WindowConsecutive, WindowSize: 2, WaitDuration: time.Minute},
				BreakerKey: tc.key,
			})
			client := start(t, ts, nil, c.DialOptions())
			for range 2 {
				client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
			}
			_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
			var oe *breaker.OpenError
			if status.Code(err) != codes.Unavailable || !errors.As(err, &oe) || ts.calls.Load() != 2 {
				t.Fatalf("third call: got %v after %d server calls, want Unavailable from the open breaker after 2", err, ts.calls.Load())
			}
			if d, ok := RetryDelay(err); !ok || d <= 0 || d > time.Minute {
				t.Errorf("open breaker RetryDelay = %v, %v", d, ok)
			}
			_, err = client.EmptyCall(context.Background(), &testpb.Empty{})
			if got := errors.Is(err, breaker.ErrOpen); got != tc.emptyOpen {
				t.Errorf("another method: open = %v (%v), want %v", got, err, tc.emptyOpen)
			}
		})
	}
}

func TestBreakerDoesNotCountRequestErrors(t *testing.T) {
	ts := &testServer{unary: func(context.Context, int32, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		return nil, status.Error(codes.NotFound, "no such thing")
	}}
	c := newClient(t, ClientConfig{Breaker: &breaker.Config{Window: breaker.WindowConsecutive, WindowSize: 2}})
	client := start(t, ts, nil, c.DialOptions())
	for range 5 {
		client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	}
	for _, b := range c.Breakers() {
		if s := b.Snapshot(); s.State != breaker.StateClosed || s.ConsecutiveFailures != 0 {
			t.Errorf("breaker %v with %d failures: NotFound must not count", s.State, s.ConsecutiveFailures)
		}
	}
}

func TestAttemptTimeoutAndDeadlinePropagation(t *testing.T) {
	var deadlines [2]atomic.Int64
	ts := &testServer{unary: func(ctx context.Context, n int32, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		if dl, ok := ctx.Deadline(); ok && n <= 2 {
			deadlines[n-1].Store(int64(time.Until(dl)))
		}
		if n == 1 {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return &testpb.SimpleResponse{}, nil
	}}
	c := newClient(t, ClientConfig{Retry: fastRetry(3), AttemptTimeout: 50 * time.Millisecond})
	client := start(t, ts, nil, c.DialOptions())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	if ts.calls.Load() != 2 {
		t.Errorf("%d calls, want 2", ts.calls.Load())
	}
	for i := range deadlines {
		d := time.Duration(deadlines[i].Load())
		if d <= 0 || d > 50*time.Millisecond {
			t.Errorf("attempt %d: server saw a deadline %v away, want at most the attempt timeout", i+1, d)
		}
	}
}

func TestAttemptTimeoutWithoutRetry(t *testing.T) {
	ts := &testServer{unary: func(ctx context.Context, _ int32, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	c := newClient(t, ClientConfig{AttemptTimeout: 20 * time.Millisecond})
	client := start(t, ts, nil, c.DialOptions())
	_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	var ee *timeout.ExceededError
	if status.Code(err) != codes.DeadlineExceeded || !errors.Is(err, timeout.ErrTimeout) || !errors.As(err, &ee) {
		t.Errorf("got %v, want DeadlineExceeded matching timeout.ErrTimeout", err)
	}
}

func TestUnaryCallerCancels(t *testing.T) {
	entered := make(chan struct{})
	ts := &testServer{unary: func(ctx context.Context, _ int32, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		close(entered)
		<-ctx.Done()
		return nil, status.Error(codes.Unavailable, "would be retried")
	}}
	c := newClient(t, ClientConfig{Retry: fastRetry(3), Breaker: &breaker.Config{}})
	client := start(t, ts, nil, c.DialOptions())
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-entered; cancel() }()
	_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{})
	if status.Code(err) != codes.Canceled || ts.calls.Load() != 1 {
		t.Errorf("got %v after %d calls, want Canceled after 1", err, ts.calls.Load())
	}
	for _, b := range c.Breakers() {
		if s := b.Snapshot(); s.Calls != 0 || s.Ignored != 1 {
			t.Errorf("breaker counted %d calls, ignored %d; the caller's cancellation is not a failure", s.Calls, s.Ignored)
		}
	}
}

func TestNewClientErrors(t *testing.T) {
	for _, tc := range []struct {
		c    ClientConfig
		want string
	}{
		{ClientConfig{AttemptTimeout: -1}, "AttemptTimeout"},
		{ClientConfig{MaxBreakers: -1}, "MaxBreakers"},
		{ClientConfig{MaxReplayBytes: -1}, "MaxReplayBytes"},
		{ClientConfig{MaxPushback: -1}, "MaxPushback"},
		{ClientConfig{Retry: &retry.Config{AttemptTimeout: time.Second}}, "Retry.AttemptTimeout"},
		{ClientConfig{Retry: &retry.Config{IsRetryableResult: func(any) bool { return true }}}, "IsRetryableResult"},
		{ClientConfig{Retry: &retry.Config{MaxAttempts: -2}}, "MaxAttempts"},
		{ClientConfig{Breaker: &breaker.Config{WaitDuration: -1}}, "WaitDuration"},
	} {
		if _, err := NewClient(tc.c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error naming %s", err, tc.want)
		}
	}
}

var _ = io.EOF
var _ atomic.Int32
var _ grpc.CallOption

// Retry.MaxRetryAfter caps the wait of a pushback that is retried;
// MaxPushback says which pushbacks are not retried at all.
func TestMaxPushbackAndMaxRetryAfter(t *testing.T) {
	ts := &testServer{unary: func(_ context.Context, n int32, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		if n == 1 {
			return nil, Error(&ratelimit.LimitedError{Delay: time.Minute})
		}
		return &testpb.SimpleResponse{}, nil
	}}
	for _, tc := range []struct {
		name        string
		maxPushback time.Duration
		calls       int32
		code        codes.Code
	}{
		{"longer than MaxPushback", 30 * time.Second, 1, codes.ResourceExhausted},
		{"within MaxPushback, wait capped", 2 * time.Minute, 2, codes.OK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts.calls.Store(0)
			rc := &retry.Config{MaxAttempts: 3, Backoff: retry.Constant{}, MaxRetryAfter: 5 * time.Millisecond}
			c := newClient(t, ClientConfig{Retry: rc, MaxPushback: tc.maxPushback})
			client := start(t, ts, nil, c.DialOptions())
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{})
			if status.Code(err) != tc.code || ts.calls.Load() != tc.calls {
				t.Errorf("got %v after %d calls, want %v after %d", err, ts.calls.Load(), tc.code, tc.calls)
			}
		})
	}
}
