package sidecar

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

const usage = `bulwark — a resilience sidecar proxy.

Usage:
  bulwark run -config FILE       run the proxy (the same: bulwark -config FILE)
  bulwark validate -config FILE  check a config file and list its routes
  bulwark demo [-duration 30s]   a self-contained demo: flaky upstream, proxy, load, dashboard
  bulwark simulate -config FILE -scenario FILE [-config FILE2] [-out DIR]
                                 replay a scenario against configs in simulated time
  bulwark scenarios [-scale 1]   the fault scenarios with and without bulwark; writes docs/scenarios/
  bulwark version                the module version and VCS revision it was built from
  bulwark help                   this text (also: -h, --help)

Each subcommand lists its flags with -h (bulwark run -h).

While it runs, the proxy reloads its config on SIGHUP and on POST /admin/reload,
and shuts down gracefully on SIGINT or SIGTERM. The dashboard is at the admin
address (default http://127.0.0.1:9901/). Config reference: docs/sidecar.md
(https://github.com/bulwark-go/bulwark/blob/main/docs/sidecar.md).
`

// Main is the bulwark command: it runs the subcommand named by args (the
// command line without the program name) and returns the exit status:
// 0 for success, 1 for a failure, 2 for bad usage. It stops when ctx is
// done, or on SIGINT or SIGTERM.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	} else if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help":
			cmd = "help"
		case "-version", "--version":
			cmd = "version"
		}
	}
	switch cmd {
	case "run":
		return cmdRun(ctx, args, stderr)
	case "validate":
		return cmdValidate(args, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, args, stdout, stderr)
	case "simulate":
		return cmdSimulate(ctx, args, stdout, stderr)
	case "version":
		bi, _ := debug.ReadBuildInfo()
		fmt.Fprintln(stdout, versionString(bi))
		return 0
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "bulwark: unknown command %q\n\n%s", cmd, usage)
	return 2
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("bulwark "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, false
	}
	return 0, true
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format: want text or json, got %q", format)
}

func cmdRun(ctx context.Context, args []string, stderr io.Writer) int {
	fs := newFlags("run", stderr)
	path := fs.String("config", "bulwark.yaml", "config file (YAML)")
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	format := fs.String("log-format", "text", "log format: text or json")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if os.Getenv("GOGC") == "" {
		// A proxy's live heap is small (a few MiB) and its garbage is per
		// request: collecting less often costs little memory and saves CPU
		// on every request (bench/README.md, the proxy's cost).
		debug.SetGCPercent(400)
	}
	log, err := newLogger(stderr, *level, *format)
	if err != nil {
		fmt.Fprintln(stderr, "bulwark:", err)
		return 2
	}
	s, err := Open(*path, Options{Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "bulwark: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := s.run(ctx, hup); err != nil {
		log.Error("stopped", "err", err)
		return 1
	}
	return 0
}

// run serves until ctx is done, reloading the config each time hup
// delivers.
func (s *Server) run(ctx context.Context, hup <-chan os.Signal) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				s.log.Info("SIGHUP: reloading", "file", s.opts.ConfigPath)
				s.Reload() // logs its outcome
			}
		}
	}()
	err := s.ListenAndServe(ctx)
	cancel()
	<-done
	return err
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("validate", stderr)
	path := fs.String("config", "bulwark.yaml", "config file (YAML)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cfg, _, err := LoadConfig(*path)
	if err == nil {
		_, err = newAdminAuth(&cfg.Admin, os.Getenv) // the token file or variable must be readable
		if err != nil {
			err = fmt.Errorf("%s: %w", *path, err)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 1
	}
	fast := ""
	if cfg.FastPath {
		fast = ", fast path on"
	}
	fmt.Fprintf(stdout, "%s: valid. proxy on %s, admin on %s%s\n", *path, cfg.Listen, cfg.Admin.Listen, fast)
	for _, r := range cfg.Routes {
		var pols []string
		if r.RateLimit != nil {
			pols = append(pols, "rate_limit")
		}
		if r.Bulkhead != nil {
			pols = append(pols, "bulkhead")
		}
		if r.Retry != nil {
			pols = append(pols, "retry")
		}
		if r.Breaker != nil {
			pols = append(pols, "breaker")
		}
		if r.Timeout > 0 {
			pols = append(pols, "timeout "+r.Timeout.String())
		}
		if r.RequestTimeout > 0 {
			pols = append(pols, "request_timeout "+r.RequestTimeout.String())
		}
		if r.ClientBodyTimeout > 0 {
			pols = append(pols, "client_body_timeout "+r.ClientBodyTimeout.String())
		}
		if r.Chaos != nil {
			pols = append(pols, "chaos")
		}
		if cfg.FastPath {
			if u, err := url.Parse(r.Upstream); err == nil {
				if why := fastRefusal(&r, u); why != "" {
					pols = append(pols, "not on the fast path: "+why)
				}
			}
		}
		fmt.Fprintf(stdout, "  %-16s %s%s -> %s  [%s]\n", r.Name, r.Host, r.Prefix, r.Upstream, strings.Join(pols, ", "))
	}
	for _, r := range cfg.Routes {
		if w := r.UnboundedWaits(); w != "" {
			fmt.Fprintf(stderr, "warning: route %s: %s\n", r.Name, w)
		}
	}
	return 0
}

// versionString describes the build: the module version ("(devel)" when
// built from a source tree) and, when the go command recorded it, the VCS
// revision, its time and whether the tree was modified.
func versionString(bi *debug.BuildInfo) string {
	if bi == nil {
		return "bulwark: no build information (built without module support)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, at string
	modified := false
	for _, st := range bi.Settings {
		switch st.Key {
		case "vcs.revision":
			rev = st.Value
		case "vcs.time":
			at = st.Value
		case "vcs.modified":
			modified = st.Value == "true"
		}
	}
	out := "bulwark " + v
	if rev != "" {
		out += " revision " + rev
		if modified {
			out += " (modified)"
		}
		if at != "" {
			out += " of " + at
		}
	}
	return out + " " + bi.GoVersion
}
