package sidecar

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/sidecar/internal/wire"
)

// BenchmarkFastPath is one GET at a time through the fast path, with every
// policy on, between a raw loopback client and a raw loopback upstream
// (both read heads with package wire, so that their own allocations stay
// out of the figure): allocs/op are the proxy's.
func BenchmarkFastPath(b *testing.B) {
	uln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer uln.Close()
	go func() {
		for {
			c, err := uln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br, bw := bufio.NewReader(c), bufio.NewWriter(c)
				var head []byte
				for {
					if head, err = wire.ReadHead(br, head[:0], 64<<10); err != nil {
						return
					}
					io.WriteString(bw, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
					if bw.Flush() != nil {
						return
					}
				}
			}()
		}
	}()
	cfg, err := ParseConfig(fmt.Appendf(nil, `fast_path: true
routes:
  - name: api
    prefix: /
    upstream: http://%s
    timeout: 2s
    request_timeout: 5s
    retry: {max_attempts: 3, budget: {ratio: 0.2}}
    breaker: {}
    bulkhead: {max_concurrent: 10000}
    rate_limit: {rate: 1000000000, burst: 1000000000}
    chaos: {error_rate: 0, latency_rate: 0}
`, uln.Addr()))
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	pl, _ := net.Listen("tcp", "127.0.0.1:0")
	al, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, pl, al) }()
	defer func() { stop(); <-served }()
	c, err := net.Dial("tcp", pl.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	req := []byte("GET /x HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\n\r\n")
	var head []byte
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if head, err = wire.ReadHead(br, head[:0], 64<<10); err != nil {
			b.Fatal(err)
		}
		if !strings.HasPrefix(string(head[:12]), "HTTP/1.1 200") {
			b.Fatalf("%s", head)
		}
		if _, err := br.Discard(2); err != nil {
			b.Fatal(err)
		}
	}
}
