package recovery

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestCrashMessage(t *testing.T) {
	tests := []struct {
		name, out, want string
	}{
		{"panic", "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n", "panic: boom"},
		{"repanic", "panic: a [recovered]\n\tpanic: b\n", "panic: a [recovered]"},
		{"fatal", "fatal error: concurrent map writes\n", "fatal error: concurrent map writes"},
		{"throw", "\nruntime stack:\nruntime.throw()\n\ngoroutine 1 gp=0x1 [running]:\nmain.recurse(0x1)\n",
			"fatal error (its message went to standard error only) in main.recurse(0x1)"},
		{"other", "\n  something odd\n", "something odd"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := crashMessage([]byte(tt.out)); got != tt.want {
				t.Errorf("crashMessage() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReportName(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890e6, time.FixedZone("x", 3600))
	if got, want := reportName(at, 42), "crash-20260304T040607.890Z-42.txt"; got != want {
		t.Errorf("reportName() = %q, want %q", got, want)
	}
}

func TestReadCrashOutputCaps(t *testing.T) {
	out, dropped := readCrashOutput(strings.NewReader("0123456789"), 4, 0)
	if string(out) != "0123" || dropped != 6 {
		t.Fatalf("got %q, %d dropped; want 0123, 6", out, dropped)
	}
	out, dropped = readCrashOutput(strings.NewReader(""), 4, 0)
	if len(out) != 0 || dropped != 0 {
		t.Fatalf("got %q, %d dropped from empty input", out, dropped)
	}
}

func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	path, err := writeReport(dir, 7, []byte("panic: x\n\ngoroutine 1 [running]:\nmain.f()"), 100, at)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "crash-20260102T030405.000Z-7.txt" {
		t.Errorf("path = %s", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"time:       2026-01-02T03:04:05Z", "pid:        7", "message:    panic: x",
		"truncated:  100 bytes", "--- crash output ---\npanic: x\n", "main.f()\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("report lacks %q:\n%s", want, data)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".crash-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestRunCommandTimeout(t *testing.T) {
	if err := runCommand([]string{"/bin/sh", "-c", "sleep 5", "sh"}, "report", 50*time.Millisecond); err == nil {
		t.Fatal("runCommand did not fail after its timeout")
	}
}

// If the program is gone but the pipe stays open (a process it forked
// without exec holds the write end), the monitor stops waiting after a
// poll and a grace period, with what it has read.
func TestReadCrashOutputParentGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pr, pw := io.Pipe()
		go pw.Write([]byte("panic: x\n"))
		start := time.Now()
		out, dropped := readCrashOutput(pr, 100, os.Getppid()+1) // not our parent: it is gone
		if string(out) != "panic: x\n" || dropped != 0 {
			t.Errorf("got %q, %d dropped", out, dropped)
		}
		if took := time.Since(start); took != parentPoll+parentGrace {
			t.Errorf("returned after %v, want %v", took, parentPoll+parentGrace)
		}
		pw.Close() // ends the reading goroutine
	})
}
