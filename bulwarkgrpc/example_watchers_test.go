package bulwarkgrpc_test

import (
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulwarkgrpc"
	"github.com/bulwark-go/bulwark/health"
)

// printer is a Watcher that says what it is told.
type printer struct{}

func (printer) Watch(policies ...any) error {
	for _, p := range policies {
		fmt.Println("watch", p.(*breaker.Breaker).Name())
	}
	return nil
}

func (printer) Unwatch(policies ...any) {
	for _, p := range policies {
		fmt.Println("unwatch", p.(*breaker.Breaker).Name())
	}
}

// Metrics and health checks follow the breakers a Client makes per method:
// each is watched when made and unwatched when forgotten to make room, and
// one made again is watched again.
func ExampleClientConfig_watchers() {
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, grpchealth.NewServer())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(l)
	defer srv.Stop()

	ready := health.New() // serve ready.Ready() as /readyz
	c, err := bulwarkgrpc.NewClient(bulwarkgrpc.ClientConfig{
		Breaker:     &breaker.Config{Name: "users"},
		MaxBreakers: 1, // to show a breaker forgotten; the default keeps 1000
		// A *prommetrics.Metrics or an *otelmetrics.Metrics goes here too.
		Watchers: []bulwarkgrpc.Watcher{ready.Critical(), printer{}},
	})
	if err != nil {
		panic(err)
	}
	conn, err := grpc.NewClient(l.Addr().String(),
		append(c.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	ctx := context.Background()
	hc.Check(ctx, &healthpb.HealthCheckRequest{})
	hc.List(ctx, &healthpb.HealthListRequest{})
	hc.Check(ctx, &healthpb.HealthCheckRequest{})
	// Output:
	// watch users:/grpc.health.v1.Health/Check
	// unwatch users:/grpc.health.v1.Health/Check
	// watch users:/grpc.health.v1.Health/List
	// unwatch users:/grpc.health.v1.Health/List
	// watch users:/grpc.health.v1.Health/Check
}
