// Package redistest starts redis-server processes of a test's own, on free
// ports of 127.0.0.1 (never the shared 6379), that the test may freeze
// (SIGSTOP), thaw (SIGCONT) and kill, and that are killed by their PID when
// the test ends. It imports only the standard library, so any module's tests
// can use it.
package redistest

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A Server is a running redis-server of the test's own.
type Server struct {
	Addr string // host:port on 127.0.0.1
	Port int
	PID  int
	t    testing.TB
}

// Start starts a redis-server with extra arguments on a free port and waits
// until it answers PING. Without redis-server on the PATH the test fails
// when CI=true and is skipped otherwise.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not on the PATH; CI must install it")
		}
		t.Skip("skipped: redis-server is not on the PATH")
	}
	for range 5 {
		port := freePort(t)
		args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "no", "--dir", t.TempDir()}, extra...)
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Port: port, PID: cmd.Process.Pid, t: t}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		kill := func() {
			_ = syscall.Kill(s.PID, syscall.SIGCONT)
			_ = syscall.Kill(s.PID, syscall.SIGKILL)
			<-exited
		}
		if s.ready(exited) {
			t.Cleanup(kill)
			return s
		}
		kill() // the port was taken meanwhile: try another
	}
	t.Fatal("could not start redis-server")
	return nil
}

// ready waits up to 5 s for the server to answer PING.
func (s *Server) ready(exited <-chan struct{}) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case <-exited:
			return false
		default:
		}
		if reply, err := s.Command("PING"); err == nil && reply == "+PONG" {
			return true
		}
	}
	return false
}

// Signal sends sig to the server's process.
func (s *Server) Signal(sig syscall.Signal) {
	s.t.Helper()
	if err := syscall.Kill(s.PID, sig); err != nil {
		s.t.Fatalf("signal %v to redis-server %d: %v", sig, s.PID, err)
	}
}

// Freeze stops the server's process: connections stay open, nothing is
// answered.
func (s *Server) Freeze() { s.Signal(syscall.SIGSTOP) }

// Thaw lets a frozen server run again.
func (s *Server) Thaw() { s.Signal(syscall.SIGCONT) }

// Kill kills the server and waits (up to 5 s) until its port refuses
// connections: connections are reset, new ones refused.
func (s *Server) Kill() {
	s.Signal(syscall.SIGKILL)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
	}
}

// Command sends one inline command on a connection of its own (at most 1 s)
// and returns the first line of the reply, or a bulk reply's body.
func (s *Server) Command(cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(line, "$") {
		return strings.TrimSpace(line), nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil || n < 0 {
		return "", err
	}
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// Clients returns how many connections the server has, not counting the
// one that asks.
func (s *Server) Clients() int {
	s.t.Helper()
	info, err := s.Command("INFO clients")
	if err != nil {
		s.t.Fatal(err)
	}
	for line := range strings.SplitSeq(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "connected_clients:"); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				s.t.Fatal(err)
			}
			return n - 1
		}
	}
	s.t.Fatalf("INFO clients without connected_clients: %q", info)
	return 0
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
