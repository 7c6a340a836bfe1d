package bulwarkgrpc

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/bulwark-go/bulwark/recovery"
)

// A handler that ignores its context is answered DeadlineExceeded at the
// deadline when TimeoutDetached is set, not with its late success.
func TestServerTimeoutDetached(t *testing.T) {
	release, finished := make(chan struct{}), make(chan struct{})
	ts := &testServer{unary: func(context.Context, int32, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		defer close(finished)
		<-release // ignores ctx
		return &testpb.SimpleResponse{}, nil
	}}
	client := start(t, ts, newServer(t, ServerConfig{Timeout: 20 * time.Millisecond, TimeoutDetached: true}).ServerOptions(), nil)
	watchdog := time.AfterFunc(5*time.Second, func() { close(release) }) // bounds the test if the call waits
	_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	if watchdog.Stop() {
		close(release)
	}
	<-finished
	if status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("got %v, want DeadlineExceeded before the handler returned", err)
	}
}

// A detached handler's panic is recovered and reported, even after its call
// was answered.
func TestServerTimeoutDetachedPanics(t *testing.T) {
	reported := make(chan error, 2)
	rep := &recovery.Reporter{Logger: slog.New(slog.DiscardHandler), OnPanic: func(pe *recovery.PanicError) { reported <- pe }}
	release := make(chan struct{})
	ts := &testServer{unary: func(_ context.Context, n int32, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		if n == 2 {
			<-release
		}
		panic("boom")
	}}
	client := start(t, ts, newServer(t, ServerConfig{Reporter: rep, Timeout: 20 * time.Millisecond, TimeoutDetached: true}).ServerOptions(), nil)
	if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); status.Code(err) != codes.Internal {
		t.Errorf("panic in time: got %v, want Internal", err)
	}
	if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("late panic: got %v, want DeadlineExceeded", err)
	}
	close(release)
	for i := range 2 {
		if err := <-reported; !errors.Is(err, recovery.ErrPanic) {
			t.Errorf("report %d: %v, want a panic", i+1, err)
		}
	}
}
