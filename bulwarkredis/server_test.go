package bulwarkredis

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// server is a redis-server process of the test's own (internal/redistest):
// on a free port, frozen, thawed and killed by the test, killed by its PID
// when the test ends.
type server struct {
	*redistest.Server
	addr string
	port int
}

// startServer starts a redis-server on a free port of 127.0.0.1 and waits
// until it answers. Without redis-server on the PATH the test fails in CI
// (CI=true) and is skipped elsewhere.
func startServer(t testing.TB, extra ...string) *server {
	t.Helper()
	rs := redistest.Start(t, extra...)
	return &server{Server: rs, addr: rs.Addr, port: rs.Port}
}

// freeze stops the server's process: connections stay open, nothing is
// answered.
func (s *server) freeze() { s.Freeze() }

// thaw lets a frozen server run again.
func (s *server) thaw() { s.Thaw() }

// kill kills the server: connections are reset, new ones refused.
func (s *server) kill() { s.Kill() }

// client returns a client of the server with go-redis's default options
// (ContextTimeoutEnabled false, ReadTimeout 3 s), closed when the test ends.
func (s *server) client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// ctxFor returns a context ending after d, cancelled when the test ends.
func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
