package recovery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// How the monitor notices that the program died while something else still
// holds the write end of the pipe open (the runtime's copy is close-on-exec,
// so only a process forked without exec could): it polls its parent's pid,
// and once the parent is gone it waits a little longer for buffered output.
const (
	parentPoll  = time.Second
	parentGrace = 2 * time.Second
)

// runMonitor is the monitor process: it returns its exit code.
func runMonitor() int {
	// Signals meant for the program (Ctrl-C reaches the whole process
	// group; systemd signals the whole cgroup) must not kill the monitor
	// before the program exits: it ends by itself at end of input.
	signal.Ignore(os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)

	var cfg MonitorConfig
	if err := json.Unmarshal([]byte(os.Getenv(envConfig)), &cfg); err != nil {
		fatalf("crash monitor: bad %s: %v", envConfig, err)
		return 2
	}
	parent, _ := strconv.Atoi(os.Getenv(envParent))
	for _, k := range []string{EnvMonitor, envConfig, envParent} {
		os.Unsetenv(k)
	}

	out, dropped := readCrashOutput(os.Stdin, cfg.MaxReportSize, parent)
	if len(out) == 0 && dropped == 0 {
		return 0 // the program exited without crashing
	}
	path, err := writeReport(cfg.Dir, parent, out, dropped, time.Now())
	if err != nil {
		fatalf("crash monitor: the program (pid %d) crashed but the report could not be written: %v", parent, err)
		return 1
	}
	fatalf("crash report of pid %d written to %s", parent, path)
	if len(cfg.Command) == 0 {
		return 0
	}
	if err := runCommand(cfg.Command, path, cfg.CommandTimeout); err != nil {
		fatalf("crash monitor: %s %s: %v", cfg.Command[0], path, err)
		return 1
	}
	return 0
}

// readCrashOutput reads r to its end, keeping at most max bytes; it returns
// them and the number of bytes dropped. It also returns, with what it has,
// parentGrace after it sees that the process parent is gone.
func readCrashOutput(r io.Reader, max, parent int) (out []byte, dropped int64) {
	var (
		mu   sync.Mutex
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			mu.Lock()
			keep := min(n, max-len(out))
			out = append(out, buf[:keep]...)
			dropped += int64(n - keep)
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	tick := time.NewTicker(parentPoll)
	defer tick.Stop()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-tick.C:
			if parent != 0 && os.Getppid() != parent {
				select {
				case <-done:
				case <-time.After(parentGrace):
				}
				break wait
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	return bytes.Clone(out), dropped
}

// reportName is the file name of the report of process pid crashed at t.
func reportName(t time.Time, pid int) string {
	return fmt.Sprintf("crash-%s-%d.txt", t.UTC().Format("20060102T150405.000Z"), pid)
}

// crashMessage returns the line of out that says what happened: the first
// "panic: " or "fatal error: " line. The runtime prints the message of a
// fatal error other than a panic (stack overflow, concurrent map writes)
// before it starts copying its output to the crash file, so for those it
// names the function the crashing goroutine was in.
func crashMessage(out []byte) string {
	lines := strings.Split(string(out), "\n")
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
			return line
		}
	}
	for i, line := range lines {
		if strings.HasPrefix(line, "goroutine ") && i+1 < len(lines) {
			fn := strings.TrimSpace(lines[i+1])
			return "fatal error (its message went to standard error only) in " + fn
		}
	}
	for _, line := range lines {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}

// writeReport writes the report atomically and returns its path.
func writeReport(dir string, pid int, out []byte, dropped int64, now time.Time) (string, error) {
	var b bytes.Buffer
	exe, _ := os.Executable()
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "bulwark crash report\n")
	fmt.Fprintf(&b, "time:       %s\n", now.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&b, "pid:        %d\n", pid)
	fmt.Fprintf(&b, "host:       %s\n", host)
	fmt.Fprintf(&b, "executable: %s\n", exe)
	fmt.Fprintf(&b, "args:       %q\n", os.Args)
	fmt.Fprintf(&b, "message:    %s\n", crashMessage(out))
	if dropped > 0 {
		fmt.Fprintf(&b, "truncated:  %d bytes of crash output dropped after the first %d\n", dropped, len(out))
	}
	fmt.Fprintf(&b, "\n--- crash output ---\n")
	b.Write(out)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		b.WriteByte('\n')
	}

	f, err := os.CreateTemp(dir, ".crash-*.tmp")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	_, err = f.Write(b.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	path := filepath.Join(dir, reportName(now, pid))
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return path, nil
}

// runCommand runs command with the report path appended, within timeout.
func runCommand(command []string, path string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := append(append([]string(nil), command[1:]...), path)
	cmd := exec.CommandContext(ctx, command[0], args...)
	cmd.Env = append(os.Environ(), EnvReport+"="+path)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 5 * time.Second
	return cmd.Run()
}

// fatalf writes a line to standard error.
func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bulwark/recovery: "+format+"\n", args...)
}
