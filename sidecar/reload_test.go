package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
	if st := s.Snapshot().LastReload; st == nil || st.OK || !strings.Contains(st.Error, "failure_rate") {
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
	if c := s.Snapshot().Routes[0].Counts; c.Requests != 3 {
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
		// Polling picks up a change within one interval.
		writeConfig(t, path, reloadYAML, "http://127.0.0.1:1", "200ms", "3m")
		time.Sleep(250 * time.Millisecond)
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
