package bulwarkgrpc

import (
	"context"
	"errors"
	"io"
	"testing"

	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/retry"
)

// outputServer streams msgs messages per call, after failing the first
// failures calls before any message; failAfterFirst makes every call fail
// after its first message instead.
func outputServer(failures int32, msgs int, failAfterFirst bool) *testServer {
	return &testServer{output: func(n int32, _ *testpb.StreamingOutputCallRequest, stream testpb.TestService_StreamingOutputCallServer) error {
		if n <= failures {
			return status.Error(codes.Unavailable, "not yet")
		}
		for i := range msgs {
			if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: payload(i + 1)}); err != nil {
				return err
			}
			if failAfterFirst {
				return status.Error(codes.Unavailable, "lost after the first message")
			}
		}
		return nil
	}}
}

func recvAll(stream interface {
	Recv() (*testpb.StreamingOutputCallResponse, error)
}) (int, error) {
	n := 0
	for {
		_, err := stream.Recv()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

func TestServerStreamRetriedBeforeFirstMessage(t *testing.T) {
	ts := outputServer(2, 3, false)
	c := newClient(t, ClientConfig{Retry: fastRetry(3), Breaker: &breaker.Config{}})
	client := start(t, ts, nil, c.DialOptions())
	stream := must(client.StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{}))(t)
	got, err := recvAll(stream)
	if err != nil || got != 3 || ts.calls.Load() != 3 {
		t.Errorf("got %d messages, %v, after %d calls; want 3 messages after 3 calls", got, err, ts.calls.Load())
	}
	for _, b := range c.Breakers() {
		if s := b.Snapshot(); s.Calls != 3 || s.Failures != 2 {
			t.Errorf("breaker saw %d calls, %d failures; want 3, 2 (one per attempt)", s.Calls, s.Failures)
		}
	}
}

func TestServerStreamNotRetriedAfterFirstMessage(t *testing.T) {
	ts := outputServer(0, 3, true)
	c := newClient(t, ClientConfig{Retry: fastRetry(3)})
	client := start(t, ts, nil, c.DialOptions())
	stream := must(client.StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{}))(t)
	got, err := recvAll(stream)
	if got != 1 || status.Code(err) != codes.Unavailable || ts.calls.Load() != 1 {
		t.Errorf("got %d messages, %v, after %d calls; want 1 message then Unavailable, 1 call", got, err, ts.calls.Load())
	}
}

func TestServerStreamExhausted(t *testing.T) {
	ts := outputServer(100, 1, false)
	c := newClient(t, ClientConfig{Retry: fastRetry(3)})
	client := start(t, ts, nil, c.DialOptions())
	stream := must(client.StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{}))(t)
	_, err := recvAll(stream)
	if status.Code(err) != codes.Unavailable || !errors.Is(err, retry.ErrExhausted) || ts.calls.Load() != 3 {
		t.Errorf("got %v after %d calls, want Unavailable, retry.ErrExhausted, 3 calls", err, ts.calls.Load())
	}
	if _, err := stream.Recv(); status.Code(err) != codes.Unavailable {
		t.Errorf("Recv after the end: %v", err)
	}
}

func TestClientStreamReplayed(t *testing.T) {
	var second []int32
	ts := &testServer{input: func(n int32, got []int32) (*testpb.StreamingInputCallResponse, error) {
		if n == 1 {
			return nil, status.Error(codes.Unavailable, "lost it")
		}
		second = got
		sum := int32(0)
		for _, g := range got {
			sum += g
		}
		return &testpb.StreamingInputCallResponse{AggregatedPayloadSize: sum}, nil
	}}
	c := newClient(t, ClientConfig{Retry: fastRetry(3)})
	client := start(t, ts, nil, c.DialOptions())
	stream := must(client.StreamingInputCall(context.Background()))(t)
	for i := 1; i <= 3; i++ {
		if err := stream.Send(&testpb.StreamingInputCallRequest{Payload: payload(i)}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil || resp.GetAggregatedPayloadSize() != 6 || ts.calls.Load() != 2 {
		t.Fatalf("got %v, %v after %d calls; want 6 after 2", resp, err, ts.calls.Load())
	}
	if len(second) != 3 || second[0] != 1 || second[1] != 2 || second[2] != 3 {
		t.Errorf("second attempt received %v, want the replay [1 2 3]", second)
	}
}

func TestClientStreamTooLargeToReplay(t *testing.T) {
	ts := &testServer{input: func(n int32, got []int32) (*testpb.StreamingInputCallResponse, error) {
		return nil, status.Error(codes.Unavailable, "lost it")
	}}
	c := newClient(t, ClientConfig{Retry: fastRetry(3), MaxReplayBytes: 100})
	client := start(t, ts, nil, c.DialOptions())
	stream := must(client.StreamingInputCall(context.Background()))(t)
	stream.Send(&testpb.StreamingInputCallRequest{Payload: payload(500)})
	_, err := stream.CloseAndRecv()
	if status.Code(err) != codes.Unavailable || ts.calls.Load() != 1 {
		t.Errorf("got %v after %d calls, want Unavailable after 1: the message was too large to keep", err, ts.calls.Load())
	}
}

func TestBidiStreamRetried(t *testing.T) {
	ts := &testServer{duplex: func(n int32, stream testpb.TestService_FullDuplexCallServer) error {
		for {
			m, err := stream.Recv()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if n == 1 {
				return status.Error(codes.Unavailable, "dropped")
			}
			if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: m.GetPayload()}); err != nil {
				return err
			}
		}
	}}
	c := newClient(t, ClientConfig{Retry: fastRetry(3)})
	client := start(t, ts, nil, c.DialOptions())
	stream := must(client.FullDuplexCall(context.Background()))(t)
	for i := 1; i <= 2; i++ {
		if err := stream.Send(&testpb.StreamingOutputCallRequest{Payload: payload(i)}); err != nil {
			t.Fatal(err)
		}
		m, err := stream.Recv()
		if err != nil || len(m.GetPayload().GetBody()) != i {
			t.Fatalf("echo %d: %v, %v", i, m, err)
		}
	}
	stream.CloseSend()
	if _, err := stream.Recv(); err != io.EOF {
		t.Errorf("end: %v, want io.EOF", err)
	}
	if ts.calls.Load() != 2 {
		t.Errorf("%d calls, want 2", ts.calls.Load())
	}
}

func TestStreamCallerCancels(t *testing.T) {
	sent := make(chan struct{})
	ts := &testServer{output: func(_ int32, _ *testpb.StreamingOutputCallRequest, stream testpb.TestService_StreamingOutputCallServer) error {
		stream.Send(&testpb.StreamingOutputCallResponse{})
		close(sent)
		<-stream.Context().Done()
		return status.Error(codes.Unavailable, "would be retried")
	}}
	c := newClient(t, ClientConfig{Retry: fastRetry(3)})
	client := start(t, ts, nil, c.DialOptions())
	ctx, cancel := context.WithCancel(context.Background())
	stream := must(client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{}))(t)
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	<-sent
	cancel()
	if _, err := stream.Recv(); status.Code(err) != codes.Canceled {
		t.Errorf("got %v, want Canceled", err)
	}
	if ts.calls.Load() != 1 {
		t.Errorf("%d calls, want 1", ts.calls.Load())
	}
}

func TestStreamCallerCancelsBeforeFirstMessage(t *testing.T) {
	entered := make(chan struct{})
	ts := &testServer{output: func(_ int32, _ *testpb.StreamingOutputCallRequest, stream testpb.TestService_StreamingOutputCallServer) error {
		close(entered)
		<-stream.Context().Done()
		return status.Error(codes.Unavailable, "would be retried")
	}}
	c := newClient(t, ClientConfig{Retry: fastRetry(3), Breaker: &breaker.Config{}})
	client := start(t, ts, nil, c.DialOptions())
	ctx, cancel := context.WithCancel(context.Background())
	stream := must(client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{}))(t)
	go func() { <-entered; cancel() }()
	if _, err := stream.Recv(); status.Code(err) != codes.Canceled {
		t.Errorf("got %v, want Canceled", err)
	}
	if ts.calls.Load() != 1 {
		t.Errorf("%d calls, want 1", ts.calls.Load())
	}
	for _, b := range c.Breakers() {
		if s := b.Snapshot(); s.Calls != 0 || s.Ignored != 1 {
			t.Errorf("breaker: %d calls, %d ignored; want 0, 1", s.Calls, s.Ignored)
		}
	}
}

func TestStreamBreakerOpen(t *testing.T) {
	ts := outputServer(100, 1, false)
	c := newClient(t, ClientConfig{Breaker: &breaker.Config{Window: breaker.WindowConsecutive, WindowSize: 1}})
	client := start(t, ts, nil, c.DialOptions())
	stream := must(client.StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{}))(t)
	if _, err := recvAll(stream); status.Code(err) != codes.Unavailable {
		t.Fatalf("first: %v", err)
	}
	_, err := client.StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{})
	if !errors.Is(err, breaker.ErrOpen) || status.Code(err) != codes.Unavailable || ts.calls.Load() != 1 {
		t.Errorf("second: %v after %d calls, want the open breaker's Unavailable after 1", err, ts.calls.Load())
	}
}
