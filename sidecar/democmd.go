package sidecar

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/sidecar/internal/demo"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("demo", stderr)
	dc := demo.Config{Out: stdout, NewProxy: newDemoProxy}
	fs.DurationVar(&dc.Duration, "duration", 30*time.Second, "how long the load runs (at least 1s)")
	fs.StringVar(&dc.Listen, "listen", "127.0.0.1:0", "the proxy's address")
	fs.StringVar(&dc.AdminListen, "admin", "127.0.0.1:0", "the admin API and dashboard's address")
	fs.StringVar(&dc.UpstreamListen, "upstream", "127.0.0.1:0", "the flaky upstream's address")
	fs.Int64Var(&dc.Seed, "seed", 1, "seed of the upstream's faults")
	verbose := fs.Bool("v", false, "print the proxy's logs to stderr")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *verbose {
		dc.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigc)
	code := make(chan int, 1)
	code <- 130 // 128 + SIGINT, for a context ended by the caller
	go func() {
		select {
		case sig := <-sigc:
			if sig == syscall.SIGTERM {
				<-code
				code <- 128 + int(syscall.SIGTERM)
			}
			cancel()
		case <-ctx.Done():
		}
	}()
	sum, err := demo.Run(ctx, dc)
	if err != nil {
		fmt.Fprintln(stderr, "bulwark:", err)
		return 1
	}
	if sum.Interrupted {
		cancel()
		return <-code // the shell's status for a command ended by a signal
	}
	return 0
}

// newDemoProxy is the demo's proxy: a Server built from the demo's config.
func newDemoProxy(config []byte, transport http.RoundTripper, logger *slog.Logger, onBreakerChange func(route string, c breaker.Change)) (demo.Proxy, error) {
	cfg, err := ParseConfig(config)
	if err != nil {
		return nil, fmt.Errorf("built-in config: %w", err)
	}
	s, err := New(cfg, Options{Logger: logger, Transport: transport, OnBreakerChange: onBreakerChange})
	if err != nil {
		return nil, err
	}
	return s, nil
}
