package recovery

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// Environment variables of the crash monitor.
const (
	// EnvMonitor is set to "1" in the environment of the monitor process,
	// which is the program itself run again by [StartCrashMonitor].
	EnvMonitor = "BULWARK_CRASH_MONITOR"
	// EnvReport holds the path of the crash report in the environment of
	// MonitorConfig.Command.
	EnvReport = "BULWARK_CRASH_REPORT"

	envConfig = "BULWARK_CRASH_MONITOR_CONFIG"
	envParent = "BULWARK_CRASH_MONITOR_PARENT"
)

// Defaults of [MonitorConfig].
const (
	DefaultCommandTimeout = time.Minute
	DefaultMaxReportSize  = 8 << 20
)

// ErrMonitorStarted is returned by a second call of [StartCrashMonitor].
var ErrMonitorStarted = errors.New("recovery: crash monitor already started")

// MonitorConfig configures [StartCrashMonitor].
type MonitorConfig struct {
	// Dir is the folder crash reports are written to; it is created (0755)
	// if missing. Reports are named crash-<UTC time>-<pid>.txt and written
	// atomically (0600), so a Command never sees half a report.
	// Default: os.TempDir().
	Dir string
	// Command, if not empty, is run after a report is written, to page
	// someone or upload the report: Command[0] is the program (looked up in
	// PATH when StartCrashMonitor is called), the rest its arguments, and
	// the report's path is appended as the last argument and also set in
	// the environment as BULWARK_CRASH_REPORT. Its output goes to the
	// program's standard error. Default: none.
	Command []string
	// CommandTimeout bounds Command; it is killed after that long.
	// Default: DefaultCommandTimeout (1 minute).
	CommandTimeout time.Duration
	// MaxReportSize caps the crash output kept in the report, in bytes;
	// the rest is read and dropped, so the crashing program never blocks on
	// a full pipe. Default: DefaultMaxReportSize (8 MiB).
	MaxReportSize int
}

var monitor struct {
	sync.Mutex
	started bool
}

// StartCrashMonitor arranges for a report file to be written, and
// MonitorConfig.Command to be run, when the program dies of a panic that
// nobody recovered or of another fatal runtime error (concurrent map
// writes, stack overflow, out of memory). Call it first thing in main:
//
//	func main() {
//		if err := recovery.StartCrashMonitor(recovery.MonitorConfig{
//			Dir:     "/var/log/myapp/crashes",
//			Command: []string{"/usr/local/bin/page-oncall"},
//		}); err != nil {
//			log.Printf("crash reports are off: %v", err)
//		}
//		...
//	}
//
// It starts the program's own executable again, with the same arguments
// and BULWARK_CRASH_MONITOR=1 in its environment, as a monitor process. In
// that process StartCrashMonitor never returns: it waits for crash output
// on its standard input, writes the report and exits. Code before the call
// in main (and package initialisation) therefore runs in both processes;
// keep it free of side effects. The monitor uses the configuration of the
// first process, passed in its environment, not its own cfg argument.
//
// In the calling process StartCrashMonitor connects a pipe to the monitor
// and hands it to runtime/debug.SetCrashOutput, so the runtime writes its
// fatal output there as well as to standard error, then returns. The
// monitor sees end of file when the program exits, however it exits: a
// normal exit, os.Exit or a kill writes no report (the monitor cannot know
// about a kill). If the monitor dies while the program runs, crash output
// is switched off and a line is written to standard error.
//
// In a container whose init process is the program itself, the kernel kills
// the monitor the moment the program dies; run the program under an init
// (docker run --init, tini) so the monitor outlives it.
//
// StartCrashMonitor returns an error naming the problem if cfg is invalid,
// the report folder cannot be created, Command[0] is not found, or the
// monitor cannot be started; the program then runs unmonitored. A second
// call returns ErrMonitorStarted.
func StartCrashMonitor(cfg MonitorConfig) error {
	if os.Getenv(EnvMonitor) == "1" {
		os.Exit(runMonitor())
	}
	monitor.Lock()
	defer monitor.Unlock()
	if monitor.started {
		return ErrMonitorStarted
	}
	cfg, err := cfg.resolve()
	if err != nil {
		return err
	}
	encoded, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("recovery: crash monitor config: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("recovery: crash monitor: cannot find the program's executable: %w", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("recovery: crash monitor: %w", err)
	}
	defer pw.Close()
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin = pr
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(),
		EnvMonitor+"=1",
		envConfig+"="+string(encoded),
		envParent+"="+strconv.Itoa(os.Getpid()))
	err = cmd.Start()
	pr.Close()
	if err != nil {
		return fmt.Errorf("recovery: crash monitor: cannot start %s: %w", exe, err)
	}
	if err := debug.SetCrashOutput(pw, debug.CrashOptions{}); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("recovery: crash monitor: SetCrashOutput: %w", err)
	}
	monitor.started = true
	go func() {
		// The monitor exits on its own only once this process is gone, so
		// if Wait returns, the monitor died early.
		err := cmd.Wait()
		debug.SetCrashOutput(nil, debug.CrashOptions{})
		fmt.Fprintf(os.Stderr, "bulwark/recovery: crash monitor (pid %d) exited (%v); crash reports are off\n",
			cmd.Process.Pid, err)
	}()
	return nil
}

// resolve checks cfg and fills in its defaults.
func (cfg MonitorConfig) resolve() (MonitorConfig, error) {
	if cfg.CommandTimeout < 0 {
		return cfg, fmt.Errorf("recovery: MonitorConfig.CommandTimeout is negative (%v)", cfg.CommandTimeout)
	}
	if cfg.CommandTimeout == 0 {
		cfg.CommandTimeout = DefaultCommandTimeout
	}
	if cfg.MaxReportSize < 0 {
		return cfg, fmt.Errorf("recovery: MonitorConfig.MaxReportSize is negative (%d)", cfg.MaxReportSize)
	}
	if cfg.MaxReportSize == 0 {
		cfg.MaxReportSize = DefaultMaxReportSize
	}
	if cfg.Dir == "" {
		cfg.Dir = os.TempDir()
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return cfg, fmt.Errorf("recovery: MonitorConfig.Dir %q: %w", cfg.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return cfg, fmt.Errorf("recovery: MonitorConfig.Dir: %w", err)
	}
	cfg.Dir = dir
	if len(cfg.Command) > 0 {
		if cfg.Command[0] == "" {
			return cfg, errors.New("recovery: MonitorConfig.Command[0] (the program to run) is empty")
		}
		path, err := exec.LookPath(cfg.Command[0])
		if err != nil {
			return cfg, fmt.Errorf("recovery: MonitorConfig.Command[0]: %w", err)
		}
		if path, err = filepath.Abs(path); err != nil {
			return cfg, fmt.Errorf("recovery: MonitorConfig.Command[0]: %w", err)
		}
		cfg.Command = append([]string{path}, cfg.Command[1:]...)
	}
	return cfg, nil
}
