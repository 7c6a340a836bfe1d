package faultsuite

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Main is `bulwark scenarios`: it runs the scenarios (all, or those named
// by -only), prints each mode's figures and the bounds broken, and writes
// the table and charts to -out. It returns 0 when every bound held, 1 when
// one broke or a scenario could not run, 2 for bad usage.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bulwark scenarios", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "docs/scenarios", "directory to write README.md and the SVG charts to (empty: write nothing)")
	scale := fs.Float64("scale", 1, "phase length against the full-length run (1: about 45 s a scenario, 6 minutes in all)")
	only := fs.String("only", "", "comma-separated scenario names to run (default: all)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || !(*scale > 0) || *scale > 10 {
		fmt.Fprintf(stderr, "bulwark scenarios: want -scale in (0, 10] and no arguments\n")
		return 2
	}
	var run []Scenario
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	known := map[string]bool{}
	for _, sc := range Scenarios() {
		known[sc.Name] = true
		if len(want) == 0 || want[sc.Name] {
			run = append(run, sc)
		}
	}
	for n := range want {
		if !known[n] {
			fmt.Fprintf(stderr, "bulwark scenarios: no scenario %q\n", n)
			return 2
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	started := time.Now()
	var results []*Result
	code := 0
	for _, sc := range run {
		fmt.Fprintf(stdout, "%s (%v)\n", sc.Title, sc.duration(*scale).Round(time.Millisecond))
		r, err := Run(ctx, sc, Options{Scale: *scale})
		if err != nil {
			fmt.Fprintf(stderr, "bulwark scenarios: %s: %v\n", sc.Name, err)
			return 1
		}
		for _, m := range r.Modes {
			fmt.Fprintln(stdout, "  "+summaryLine(r, m))
		}
		for _, v := range r.Violations() {
			fmt.Fprintln(stdout, "  BOUND BROKEN: "+v)
			code = 1
		}
		results = append(results, r)
	}
	if *out != "" && len(results) > 0 {
		if err := WriteDocs(*out, results, started, time.Since(started)); err != nil {
			fmt.Fprintf(stderr, "bulwark scenarios: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %s/README.md and %d charts\n", *out, len(results))
	}
	return code
}

// summaryLine is one mode's figures on a line.
func summaryLine(r *Result, m ModeResult) string {
	s := summarize(r, m)
	return fmt.Sprintf("%-22s ok %5.1f%% fallback %5.1f%% fast %5.1f%% slow %5.1f%% p50 %6.1fms p99 %7.1fms reached %d (down %d) max sends %d recovery %v lost %d",
		m.Mode, s.share[Succeeded], s.share[Fallback], s.share[FailedFast], s.share[FailedSlowly],
		ms(s.p50), ms(s.p99), m.Reached, m.ReachedDown, m.MaxSends, m.Recovery, m.Lost)
}
