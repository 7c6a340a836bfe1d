package bulwarkredis

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// server is a redis-server process of the test's own, on a free port, that
// the test may freeze (SIGSTOP), thaw (SIGCONT) and kill. It is killed, by
// its PID, when the test ends.
type server struct {
	t    testing.TB
	addr string
	port int
	cmd  *exec.Cmd
}

// startServer starts a redis-server on a free port of 127.0.0.1 and waits
// until it answers. Without redis-server on the PATH the test fails in CI
// (CI=true) and is skipped elsewhere.
func startServer(t testing.TB, extra ...string) *server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is not on the PATH; CI must install it")
		}
		t.Skip("skipped: redis-server is not on the PATH")
	}
	s := &server{t: t}
	for range 5 {
		s.port = freePort(t)
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
		args := append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "no", "--dir", t.TempDir()}, extra...)
		s.cmd = exec.Command(bin, args...)
		if err := s.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := s.cmd.Process.Pid
		exited := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(exited) }()
		cleanup := func() {
			_ = syscall.Kill(pid, syscall.SIGCONT)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			<-exited
		}
		if s.ready(exited) {
			t.Cleanup(cleanup)
			return s
		}
		cleanup() // the port was taken meanwhile: try another
	}
	t.Fatal("could not start redis-server")
	return nil
}

// ready waits up to 5 s for the server to answer PING.
func (s *server) ready(exited <-chan struct{}) bool {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", s.addr, 100*time.Millisecond); err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte("PING\r\n"))
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err == nil && line == "+PONG\r\n" {
				return true
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

func (s *server) signal(sig syscall.Signal) {
	if err := syscall.Kill(s.cmd.Process.Pid, sig); err != nil {
		s.t.Fatalf("signal %v to redis-server %d: %v", sig, s.cmd.Process.Pid, err)
	}
}

// freeze stops the server's process: connections stay open, nothing is
// answered.
func (s *server) freeze() { s.signal(syscall.SIGSTOP) }

// thaw lets a frozen server run again.
func (s *server) thaw() { s.signal(syscall.SIGCONT) }

// kill kills the server: connections are reset, new ones refused.
func (s *server) kill() {
	s.signal(syscall.SIGKILL)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) { // wait until the port refuses
		c, err := net.DialTimeout("tcp", s.addr, 100*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(5 * time.Millisecond)
	}
}

// client returns a client of the server with go-redis's default options
// (ContextTimeoutEnabled false, ReadTimeout 3 s), closed when the test ends.
func (s *server) client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// ctxFor returns a context ending after d, cancelled when the test ends.
func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
