// Command profiled runs the bulwark sidecar on a config file, as
// `bulwark run` does, and writes a CPU profile of the process for a given
// duration, for bench/proxy/run.sh.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/bulwark-go/bulwark/sidecar"
)

func main() {
	config := flag.String("config", "", "config file")
	out := flag.String("cpuprofile", "cpu.pprof", "CPU profile file")
	after := flag.Duration("after", 2*time.Second, "start profiling this long after start (warm-up)")
	d := flag.Duration("for", 10*time.Second, "profile this long")
	flag.Parse()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400) // as bulwark run
	}
	s, err := sidecar.Open(*config, sidecar.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		time.Sleep(*after)
		f, err := os.Create(*out)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		time.Sleep(*d)
		pprof.StopCPUProfile()
		f.Close()
	}()
	if err := s.ListenAndServe(ctx); err != nil {
		log.Fatal(err)
	}
}
