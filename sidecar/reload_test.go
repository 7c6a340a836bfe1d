package sidecar

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

const reloadYAML = `
listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
reload: {poll: %[2]s}
routes:
  - name: api
    prefix: /
    upstream: %[1]s
    breaker: {window: consecutive, window_size: 2, wait: %[3]s}
    rate_limit: {rate: 1000, burst: 1000}
`

func writeConfig(t *testing.T, path, yaml string, args ...any) {
	t.Helper()
	if err := os.WriteFile(path, fmt.Appendf(nil, yaml, args...), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReloadKeepsBreakerState(t *testing.T) {
	up := &counter{codes: []int{500}}
	u := upstream(t, up.ServeHTTP)
	path := filepath.Join(t.TempDir(), "bulwark.yaml")
	writeConfig(t, path, reloadYAML, u.URL, "0s", "1m")
	logs := &syncBuffer{}
	s, err := Open(path, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	proxy := newTestProxy(t, s)
	proxy.get(t, "/")
	proxy.get(t, "/")
	br, _ := s.Breaker("api")
	limiter := s.gen.Load().routes[0].limiter
	if got := br.State().String(); got != "open" {
		t.Fatalf("breaker %s before reload, want open", got)
	}

	// A good file: the breaker is kept, open, with the new wait; the
	// unchanged rate limit is kept too; a new route appears.
	writeConfig(t, path, reloadYAML+"  - {name: extra, prefix: /extra/, upstream: '%[1]s'}\n", u.URL, "0s", "2m")
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	br2, err := s.Breaker("api")
	if err != nil || br2 != br || br2.State().String() != "open" {
		t.Fatalf("after reload: breaker %p (was %p) in state %s, err %v", br2, br, br2.State(), err)
	}
	if s.gen.Load().routes[0].limiter != limiter {
		t.Errorf("an unchanged rate limit was rebuilt")
	}
	if s.Generation() != 2 || len(s.Config().Routes) != 2 {
		t.Errorf("generation %d with %d routes", s.Generation(), len(s.Config().Routes))
	}
	if got := proxy.get(t, "/"); got.header.Get(HeaderReason) != "breaker_open" {
		t.Errorf("after reload, request: %d %v", got.code, got.header)
	}

	// A bad file: everything stays, the error is logged and reported.
	os.WriteFile(path, []byte("routes:\n  - name: api\n    prefix: /\n    upstream: "+u.URL+"\n    breaker: {failure_rate: 1.5}\n"), 0o644)
	err = s.Reload()
	if err == nil || !strings.Contains(err.Error(), "routes[0].breaker.failure_rate: must be in (0,1], got 1.5") {
		t.Fatalf("bad reload: %v", err)
	}
	if s.Generation() != 2 || len(s.Config().Routes) != 2 {
		t.Errorf("a bad file changed the config: generation %d", s.Generation())
	}
	if br3, _ := s.Breaker("api"); br3 != br || br3.State().String() != "open" {
		t.Errorf("a bad file changed the breaker")
	}
	if st := s.snapshot().LastReload; st == nil || st.OK || !strings.Contains(st.Error, "failure_rate") {
		t.Errorf("last reload = %+v", st)
	}
	if !strings.Contains(logs.String(), "reload failed; keeping the running config") {
		t.Errorf("no log of the failed reload:\n%s", logs.String())
	}

	// Removing the breaker block, then adding it back, gives a new breaker.
	writeConfig(t, path, "routes:\n  - {name: api, prefix: /, upstream: '%s'}\n", u.URL)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Breaker("api"); !errors.Is(err, ErrNoBreaker) {
		t.Errorf("Breaker after removing it: %v", err)
	}
	writeConfig(t, path, reloadYAML, u.URL, "0s", "1m")
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if br4, _ := s.Breaker("api"); br4 == br || br4.State().String() != "closed" {
		t.Errorf("re-added breaker: same %v, state %s", br4 == br, br4.State())
	}
	if c := s.snapshot().Routes[0].Counts; c.Requests != 3 {
		t.Errorf("route counts are kept by name across reloads: %+v", c)
	}
}

// testProxy serves a Server's proxy handler on loopback.
type testProxy struct{ f *fixture }

func newTestProxy(t *testing.T, s *Server) *testProxy {
	f := &fixture{s: s}
	f.proxy = newLoopback(t, s.Handler())
	f.client = f.proxy.Client()
	return &testProxy{f}
}

func (p *testProxy) get(t *testing.T, path string) response { return p.f.get(t, path) }

func TestReloadOnSignalAndPoll(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		n := newMemNet()
		path := filepath.Join(dir, "bulwark.yaml")
		writeConfig(t, path, reloadYAML, "http://127.0.0.1:1", "200ms", "1m")
		logs := &syncBuffer{}
		s, err := Open(path, Options{Listen: n.Listen, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		hup := make(chan os.Signal)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.run(ctx, hup) }()

		// SIGHUP reloads even an unchanged file.
		hup <- syscall.SIGHUP
		synctest.Wait()
		if s.Generation() != 2 {
			t.Errorf("after SIGHUP: generation %d, want 2", s.Generation())
		}
		// Polling picks up a change once it reads the same twice: within
		// two intervals.
		writeConfig(t, path, reloadYAML, "http://127.0.0.1:1", "200ms", "3m")
		time.Sleep(450 * time.Millisecond)
		synctest.Wait()
		if s.Generation() != 3 || s.Config().Routes[0].Breaker.Wait != 3*time.Minute {
			t.Errorf("after a change: generation %d", s.Generation())
		}
		// No change, no reload.
		time.Sleep(time.Second)
		synctest.Wait()
		if s.Generation() != 3 {
			t.Errorf("unchanged file reloaded: generation %d", s.Generation())
		}
		// A bad file is reported once, not at every poll.
		os.WriteFile(path, []byte("routes: 3\n"), 0o644)
		time.Sleep(time.Second)
		synctest.Wait()
		if s.Generation() != 3 || strings.Count(logs.String(), "reload failed") != 1 {
			t.Errorf("bad file: generation %d, logs:\n%s", s.Generation(), logs.String())
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
}

func TestApplyInvalid(t *testing.T) {
	s, err := New(mustParse(t, route0), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(nil); err == nil {
		t.Errorf("Apply(nil) succeeded")
	}
	if err := s.Reload(); err == nil || !strings.Contains(err.Error(), "no config file") {
		t.Errorf("Reload without a file: %v", err)
	}
	if err := s.Apply(mustParse(t, route0+"    timeout: 1s\n")); err != nil || s.Generation() != 2 {
		t.Errorf("Apply: %v, generation %d", err, s.Generation())
	}
}

func mustParse(t *testing.T, yaml string) *Config {
	t.Helper()
	c, err := ParseConfig([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const twoRoutesYAML = `
listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
reload: {poll: 200ms}
routes:
  - name: api
    prefix: /api/
    upstream: http://127.0.0.1:1
    breaker: {wait: 1m}
  - name: orders
    prefix: /orders/
    upstream: http://127.0.0.1:1
    breaker: {wait: %s}
`

// pollServer runs a server from a config file with polling on, in a
// synctest bubble.
func pollServer(t *testing.T, path string, logs *syncBuffer) (*Server, func()) {
	t.Helper()
	n := newMemNet()
	s, err := Open(path, Options{Listen: n.Listen, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- s.run(ctx, nil) }()
	return s, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
}

// TestPollWaitsForStableFile: a file caught half-written (a valid prefix
// that lacks a route) is not applied; the complete file is, once it reads
// the same twice, and the route's forced-open breaker is still forced open.
func TestPollWaitsForStableFile(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(dir, "bulwark.yaml")
		full := fmt.Sprintf(twoRoutesYAML, "1m")
		os.WriteFile(path, []byte(full), 0o644)
		s, stop := pollServer(t, path, &syncBuffer{})
		defer stop()
		br, _ := s.Breaker("orders")
		br.ForceOpen()

		// The writer has written up to the second route only.
		changed := fmt.Sprintf(twoRoutesYAML, "2m")
		os.WriteFile(path, []byte(changed[:strings.Index(changed, "  - name: orders")]), 0o644)
		time.Sleep(250 * time.Millisecond) // one poll sees the prefix
		synctest.Wait()
		if g := s.Generation(); g != 1 {
			t.Fatalf("a file read once was applied: generation %d, routes %d", g, len(s.Config().Routes))
		}
		// The writer finishes.
		os.WriteFile(path, []byte(changed), 0o644)
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		if g := s.Generation(); g != 1 {
			t.Fatalf("the complete file was applied on its first read: generation %d", g)
		}
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		if g := s.Generation(); g != 2 || len(s.Config().Routes) != 2 || s.Config().Routes[1].Breaker.Wait != 2*time.Minute {
			t.Fatalf("the stable file was not applied: generation %d", g)
		}
		br2, _ := s.Breaker("orders")
		if br2 != br || br.State().String() != "forced-open" {
			t.Errorf("orders breaker after the reload: %s (same breaker: %v), want forced-open", br2.State(), br2 == br)
		}
	})
}

// TestPollReportsUnreadableFile: a deleted file and a directory at the path
// are logged once each and shown as the last reload's error; the running
// config keeps serving, and the file is picked up again when it returns.
func TestPollReportsUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(dir, "bulwark.yaml")
		os.WriteFile(path, fmt.Appendf(nil, twoRoutesYAML, "1m"), 0o644)
		logs := &syncBuffer{}
		s, stop := pollServer(t, path, logs)
		defer stop()

		os.Remove(path)
		time.Sleep(time.Second)
		synctest.Wait()
		st := s.snapshot().LastReload
		if st == nil || st.OK || !strings.Contains(st.Error, "no such file") {
			t.Errorf("deleted file: last reload %+v", st)
		}
		if n := strings.Count(logs.String(), "config file unreadable"); n != 1 {
			t.Errorf("deleted file logged %d times:\n%s", n, logs)
		}
		os.Mkdir(path, 0o755)
		time.Sleep(time.Second)
		synctest.Wait()
		st = s.snapshot().LastReload
		if st == nil || st.OK || !strings.Contains(st.Error, "is a directory") {
			t.Errorf("directory: last reload %+v", st)
		}
		if s.Generation() != 1 || len(s.Config().Routes) != 2 {
			t.Errorf("the running config changed: generation %d", s.Generation())
		}
		os.Remove(path)
		os.WriteFile(path, fmt.Appendf(nil, twoRoutesYAML, "5m"), 0o644)
		time.Sleep(time.Second)
		synctest.Wait()
		if st := s.snapshot().LastReload; s.Generation() != 2 || st == nil || !st.OK {
			t.Errorf("file back: generation %d, last reload %+v", s.Generation(), st)
		}
	})
	if _, _, err := LoadConfig(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("LoadConfig of a directory: %v", err)
	}
}

// TestPollAllocations: polling an unchanged file reads it only when its
// stamp changed, and reading a small file allocates about its size, not
// MaxConfigBytes.
func TestPollAllocations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulwark.yaml")
	os.WriteFile(path, fmt.Appendf(nil, twoRoutesYAML, "1m"), 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(path, old, old)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := &poller{handled: sha256.Sum256(s.gen.Load().raw)}
	s.pollOnce(p) // the first look reads the file
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		s.pollOnce(p)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 100*2048 {
		t.Errorf("100 polls of an unchanged file allocated %d bytes", got)
	}
	runtime.ReadMemStats(&before)
	for range 10 {
		readConfigFile(path)
	}
	runtime.ReadMemStats(&after)
	if got := (after.TotalAlloc - before.TotalAlloc) / 10; got > 64<<10 {
		t.Errorf("reading a %d-byte file allocated %d bytes", len(twoRoutesYAML), got)
	}
}
