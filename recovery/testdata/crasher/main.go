// Command crasher is run by the recovery package's tests: it starts the
// crash monitor, then crashes (or not) the way its first argument says.
//
//	crasher panic     panic in a goroutine nobody recovers
//	crasher overflow  die of a stack overflow (a fatal error, not a panic)
//	crasher exit      print "ok" and return from main
//	crasher exit3     os.Exit(3)
//	crasher hang      print "ready" and wait to be killed
//	crasher page F    append the report path argument and $BULWARK_CRASH_REPORT to file F
//
// CRASHER_DIR is the report folder; if CRASHER_PAGED is set, the monitor
// runs "crasher page $CRASHER_PAGED" after writing a report.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/bulwark-go/bulwark/recovery"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: crasher panic|overflow|exit|exit3|hang|page FILE REPORT")
		os.Exit(2)
	}
	if os.Args[1] == "page" { // run by the monitor: record the call
		page(os.Args[2], os.Args[3])
		return
	}
	cfg := recovery.MonitorConfig{Dir: os.Getenv("CRASHER_DIR")}
	if f := os.Getenv("CRASHER_PAGED"); f != "" {
		exe, err := os.Executable()
		if err != nil {
			panic(err)
		}
		cfg.Command = []string{exe, "page", f}
	}
	if err := recovery.StartCrashMonitor(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "crasher:", err)
		os.Exit(4)
	}
	switch os.Args[1] {
	case "panic":
		done := make(chan struct{})
		go crashInGoroutine()
		<-done
	case "overflow":
		debug.SetMaxStack(1 << 20)
		fmt.Println(recurse(1))
	case "exit":
		fmt.Println("ok")
	case "exit3":
		os.Exit(3)
	case "hang":
		fmt.Println("ready")
		time.Sleep(time.Minute)
	default:
		fmt.Fprintln(os.Stderr, "crasher: unknown mode", os.Args[1])
		os.Exit(2)
	}
}

//go:noinline
func crashInGoroutine() {
	panic("crasher: boom from a goroutine")
}

//go:noinline
func recurse(n int) int {
	var pad [64]byte
	pad[n%64] = byte(n)
	return recurse(n+1) + int(pad[0])
}

func page(file, report string) {
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "arg=%s\nenv=%s\n", report, os.Getenv(recovery.EnvReport))
}
