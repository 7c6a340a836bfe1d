package recovery_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/recovery"
)

// The crash tests run testdata/crasher, a program that starts the crash
// monitor and then crashes or exits. It is built once per test binary,
// with -race when the tests are, so that the packages it needs are already
// in the build cache. GORACE=atexit_sleep_ms=0 spares the second a
// race-enabled program otherwise sleeps at exit.
var crasherBuild struct {
	once sync.Once
	dir  string
	exe  string
	err  error
}

func crasher(t *testing.T) string {
	t.Helper()
	b := &crasherBuild
	b.once.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		if b.dir, b.err = os.MkdirTemp("", "bulwark-crasher-"); b.err != nil {
			return
		}
		b.exe = filepath.Join(b.dir, "crasher")
		args := []string{"build", "-o", b.exe}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "./testdata/crasher")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, goBin, args...).CombinedOutput()
		if err != nil {
			b.err = errors.New("go " + strings.Join(args, " ") + ": " + err.Error() + "\n" + string(out))
		}
	})
	if b.err != nil {
		t.Fatalf("cannot build the crash-test program: %v", b.err)
	}
	return b.exe
}

func removeCrasher() {
	if crasherBuild.dir != "" {
		os.RemoveAll(crasherBuild.dir)
	}
}

type crashRun struct {
	dir    string // report folder
	paged  string // the file the paging command appends to
	stdout string
	stderr string
	err    error // from Wait: the program's exit status
}

// runCrasher runs the crash-test program in mode and waits for it and for
// its monitor: the monitor holds the program's standard error, so Wait
// returns only after both have exited (or fails after WaitDelay).
func runCrasher(t *testing.T, mode string) crashRun {
	t.Helper()
	r := crashRun{dir: t.TempDir()}
	r.paged = filepath.Join(r.dir, "paged.txt")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, crasher(t), mode)
	cmd.Env = append(os.Environ(), "CRASHER_DIR="+r.dir, "CRASHER_PAGED="+r.paged, "GORACE=atexit_sleep_ms=0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	r.err = cmd.Run()
	r.stdout, r.stderr = stdout.String(), stderr.String()
	if errors.Is(r.err, exec.ErrWaitDelay) || ctx.Err() != nil {
		t.Fatalf("crasher %s or its monitor did not exit in time (%v); stderr:\n%s", mode, r.err, r.stderr)
	}
	return r
}

// reports returns the paths of the crash reports in dir.
func reports(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "crash-*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err == nil {
		return 0
	}
	return -1
}

// crashReport runs the crasher in mode, checks that it died with exit
// status 2 and left exactly one report, and returns the run, the report's
// path and its text.
func crashReport(t *testing.T, mode string) (r crashRun, path, report string) {
	t.Helper()
	r = runCrasher(t, mode)
	if code := exitCode(r.err); code != 2 {
		t.Fatalf("crasher exited with %v, want exit status 2; stderr:\n%s", r.err, r.stderr)
	}
	files := reports(t, r.dir)
	if len(files) != 1 {
		t.Fatalf("found %d reports, want 1; stderr:\n%s", len(files), r.stderr)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	return r, files[0], string(data)
}

func TestCrashMonitorReportsGoroutinePanic(t *testing.T) {
	t.Parallel()
	r, path, report := crashReport(t, "panic")
	for _, want := range []string{
		"message:    panic: crasher: boom from a goroutine",
		"goroutine ",
		"main.crashInGoroutine()",
		"testdata/crasher/main.go:",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("report mode = %v (%v), want 0600", fi.Mode(), err)
	}
	if !strings.Contains(r.stderr, "crash report of pid") || !strings.Contains(r.stderr, path) {
		t.Errorf("stderr does not point to the report:\n%s", r.stderr)
	}
	paged, err := os.ReadFile(r.paged)
	if err != nil {
		t.Fatalf("the paging command did not run: %v", err)
	}
	if want := "arg=" + path + "\nenv=" + path + "\n"; string(paged) != want {
		t.Errorf("paging command got %q, want %q", paged, want)
	}
}

func TestCrashMonitorReportsFatalError(t *testing.T) {
	t.Parallel()
	_, _, report := crashReport(t, "overflow")
	if !strings.Contains(report, "main.recurse(") {
		t.Errorf("report lacks the overflowing function:\n%.2000s", report)
	}
}

func TestCrashMonitorNoReportOnNormalExit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode string
		code int
	}{
		{"exit", 0},
		{"exit3", 3},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			r := runCrasher(t, tt.mode)
			if code := exitCode(r.err); code != tt.code {
				t.Fatalf("crasher exited with %v, want %d; stderr:\n%s", r.err, tt.code, r.stderr)
			}
			if files := reports(t, r.dir); len(files) != 0 {
				t.Errorf("found reports %v after a normal exit", files)
			}
			if _, err := os.Stat(r.paged); err == nil {
				t.Error("the paging command ran after a normal exit")
			}
			if r.stderr != "" {
				t.Errorf("unexpected stderr: %s", r.stderr)
			}
		})
	}
}

// A program killed outright leaves no report, and its monitor exits.
func TestCrashMonitorExitsWhenProgramIsKilled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, crasher(t), "hang")
	cmd.Env = append(os.Environ(), "CRASHER_DIR="+dir, "GORACE=atexit_sleep_ms=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("crasher said %q (%v), want ready; stderr:\n%s", line, err, stderr.String())
	}
	cmd.Process.Kill()
	err = cmd.Wait()
	if errors.Is(err, exec.ErrWaitDelay) || ctx.Err() != nil {
		t.Fatalf("the monitor did not exit after its program was killed: %v", err)
	}
	if files := reports(t, dir); len(files) != 0 {
		t.Errorf("found reports %v after a kill", files)
	}
}

func TestStartCrashMonitorRejectsBadConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  recovery.MonitorConfig
		want string
	}{
		{"negative timeout", recovery.MonitorConfig{CommandTimeout: -time.Second}, "CommandTimeout"},
		{"negative size", recovery.MonitorConfig{MaxReportSize: -1}, "MaxReportSize"},
		{"dir is a file", recovery.MonitorConfig{Dir: filepath.Join(file, "sub")}, "Dir"},
		{"empty command", recovery.MonitorConfig{Dir: t.TempDir(), Command: []string{""}}, "Command[0]"},
		{"unknown command", recovery.MonitorConfig{Dir: t.TempDir(), Command: []string{"bulwark-no-such-pager"}}, "Command[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := recovery.StartCrashMonitor(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("StartCrashMonitor() = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}
