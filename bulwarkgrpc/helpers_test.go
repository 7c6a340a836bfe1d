package bulwarkgrpc

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// testServer implements grpc.testing.TestService with behaviour set per
// test. Each hook gets the number of the call (1 for the first).
type testServer struct {
	testpb.UnimplementedTestServiceServer
	unary  func(ctx context.Context, n int32, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error)
	output func(n int32, req *testpb.StreamingOutputCallRequest, stream testpb.TestService_StreamingOutputCallServer) error
	input  func(n int32, got []int32) (*testpb.StreamingInputCallResponse, error)
	duplex func(n int32, stream testpb.TestService_FullDuplexCallServer) error

	calls atomic.Int32
}

func (s *testServer) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return s.unary(ctx, s.calls.Add(1), req)
}

func (s *testServer) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream testpb.TestService_StreamingOutputCallServer) error {
	return s.output(s.calls.Add(1), req, stream)
}

func (s *testServer) StreamingInputCall(stream testpb.TestService_StreamingInputCallServer) error {
	n := s.calls.Add(1)
	var got []int32
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		got = append(got, int32(len(m.GetPayload().GetBody())))
	}
	resp, err := s.input(n, got)
	if err != nil {
		return err
	}
	return stream.SendAndClose(resp)
}

func (s *testServer) FullDuplexCall(stream testpb.TestService_FullDuplexCallServer) error {
	return s.duplex(s.calls.Add(1), stream)
}

// start serves ts on 127.0.0.1:0 with the server options given and returns
// a client over a connection with the dial options given.
func start(t *testing.T, ts *testServer, sopts []grpc.ServerOption, dopts []grpc.DialOption) testpb.TestServiceClient {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(sopts...)
	testpb.RegisterTestServiceServer(srv, ts)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(l)
	}()
	conn, err := grpc.NewClient(l.Addr().String(), append(dopts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		<-served
	})
	return testpb.NewTestServiceClient(conn)
}

func payload(n int) *testpb.Payload { return &testpb.Payload{Body: make([]byte, n)} }

func unavailable(string) error { return status.Error(codes.Unavailable, "try again") }

func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
