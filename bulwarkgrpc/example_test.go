package bulwarkgrpc_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/bulwarkgrpc"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
)

func Example() {
	// Server: at most 100 calls at once, each bounded to 2 s.
	pool, err := bulkhead.New(bulkhead.Config{Name: "grpc", MaxConcurrent: 100})
	if err != nil {
		panic(err)
	}
	srvPolicies, err := bulwarkgrpc.NewServer(bulwarkgrpc.ServerConfig{Bulkhead: pool, Timeout: 2 * time.Second})
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer(srvPolicies.ServerOptions()...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(l)
	defer srv.Stop()

	// Client: retries of Unavailable and ResourceExhausted, a breaker per method.
	cliPolicies, err := bulwarkgrpc.NewClient(bulwarkgrpc.ClientConfig{
		Retry:   &retry.Config{MaxAttempts: 3, Backoff: retry.Constant{Interval: 10 * time.Millisecond}},
		Breaker: &breaker.Config{Name: "health"},
	})
	if err != nil {
		panic(err)
	}
	conn, err := grpc.NewClient(l.Addr().String(),
		append(cliPolicies.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		panic(err)
	}
	defer conn.Close()

	resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.GetStatus())
	_, err = healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: "nope"})
	fmt.Println(status.Code(err))
	// Output:
	// SERVING
	// NotFound
}

func ExampleError() {
	err := bulwarkgrpc.Error(&ratelimit.LimitedError{Name: "api", Delay: 1500 * time.Millisecond})
	st, _ := status.FromError(err)
	delay, _ := bulwarkgrpc.RetryDelay(err)
	fmt.Println(st.Code(), delay)
	// Output: ResourceExhausted 1.5s
}
