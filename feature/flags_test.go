package feature

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// logBuf collects log output; safe for concurrent use.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) count(s string) int { return strings.Count(l.String(), s) }

func (l *logBuf) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

var mtime atomic.Int64

// writeFile writes content and gives the file a modification time later
// than any before, so a poll sees it changed whatever the clock's grain.
func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	tm := time.Unix(1_700_000_000+mtime.Add(1), 0)
	if err := os.Chtimes(path, tm, tm); err != nil {
		t.Fatal(err)
	}
}

func flagFile(v string) string {
	return `{"flags":[{"name":"x","type":"string","value":"` + v + `"},{"name":"y","type":"bool","value":true}]}`
}

const badFile = `{"flags":[{"name":"x","type":"string","value":5}]}`

// setup writes a flag file and opens it, with no environment unless cfg
// says otherwise.
func setup(t testing.TB, content string, cfg Config) (*Flags, string, *logBuf) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "flags.json")
	writeFile(t, path, content)
	logs := &logBuf{}
	cfg.Path = path
	cfg.Logger = logs.logger()
	if cfg.Environ == nil {
		cfg.Environ = func() []string { return nil }
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, path, logs
}

func TestNewConfigErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	writeFile(t, good, flagFile("a"))
	bad := filepath.Join(dir, "bad.json")
	writeFile(t, bad, badFile)
	tests := []struct {
		name string
		cfg  Config
		want string
		is   error
	}{
		{"no path", Config{}, "Config.Path is required", nil},
		{"negative interval", Config{Path: good, Interval: -time.Second}, "Config.Interval", nil},
		{"missing file", Config{Path: filepath.Join(dir, "nope.json")}, "nope.json", fs.ErrNotExist},
		{"invalid file", Config{Path: bad}, `flag "x": value`, ErrInvalid},
		{"decoder error", Config{Path: good, Decode: func([]byte) (*File, error) { return nil, errors.New("boom") }}, "boom", nil},
		{"decoder returns nil", Config{Path: good, Decode: func([]byte) (*File, error) { return nil, nil }}, "no file", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Logger = slog.New(slog.DiscardHandler)
			f, err := New(tt.cfg)
			if err == nil {
				t.Fatalf("New = %v, want an error", f)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	f, path, _ := setup(t, flagFile("a"), Config{})
	s := f.Snapshot()
	if f.Name() != "feature" || s.Name != "feature" || s.Path != path || s.Flags != 2 || s.Version != 1 ||
		s.Rejected != 0 || s.LastError != nil || s.Missing || s.Killed || s.LastLoad.IsZero() {
		t.Errorf("Snapshot = %+v", s)
	}
	if f.interval != DefaultInterval || f.envPrefix != DefaultEnvPrefix {
		t.Errorf("interval, prefix = %v, %q", f.interval, f.envPrefix)
	}
}

func TestReload(t *testing.T) {
	f, path, logs := setup(t, flagFile("a"), Config{Name: "app"})
	if got := f.String("x", ""); got != "a" {
		t.Fatalf("x = %q, want a", got)
	}

	// A good file is accepted.
	writeFile(t, path, flagFile("b"))
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := f.String("x", ""); got != "b" {
		t.Errorf("after good reload x = %q, want b", got)
	}
	if v := f.Current().Version(); v != 2 {
		t.Errorf("Version = %d, want 2", v)
	}

	// A bad file is rejected; the last good flags stay.
	writeFile(t, path, badFile)
	err := f.Reload()
	var le *LoadError
	if !errors.As(err, &le) || le.Path != path || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Reload of a bad file = %v, want a *LoadError wrapping ErrInvalid", err)
	}
	if got := f.String("x", ""); got != "b" {
		t.Errorf("after bad reload x = %q, want b", got)
	}
	if s := f.Snapshot(); s.Rejected != 1 || !errors.Is(s.LastError, ErrInvalid) || s.Version != 2 {
		t.Errorf("Snapshot = %+v", s)
	}
	if !strings.Contains(logs.String(), "rejected flag file") || !strings.Contains(logs.String(), "name=app") {
		t.Errorf("log lacks the rejection: %s", logs)
	}

	// A removed file keeps the last good flags.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := f.Reload(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Reload of a removed file = %v, want fs.ErrNotExist", err)
	}
	if got := f.String("x", ""); got != "b" {
		t.Errorf("after removal x = %q, want b", got)
	}
	if s := f.Snapshot(); !s.Missing {
		t.Errorf("Snapshot.Missing = false")
	}
	if logs.count("flag file is missing") != 1 {
		t.Errorf("log lacks the missing file: %s", logs)
	}

	// The file comes back.
	writeFile(t, path, flagFile("c"))
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	if s := f.Snapshot(); s.Missing || s.LastError != nil || f.String("x", "") != "c" || s.Version != 3 {
		t.Errorf("after the file came back: %+v, x = %q", s, f.String("x", ""))
	}
}

func TestWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, path, logs := setup(t, flagFile("a"), Config{Interval: time.Second})
		var changes []Change
		var mu sync.Mutex
		f.Subscribe(func(c Change) {
			mu.Lock()
			changes = append(changes, c)
			mu.Unlock()
		})
		nChanges := func() int {
			mu.Lock()
			defer mu.Unlock()
			return len(changes)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- f.Watch(ctx) }()
		tick := func() {
			time.Sleep(time.Second)
			synctest.Wait()
		}

		// Nothing changes: nothing happens.
		tick()
		if nChanges() != 0 || f.Current().Version() != 1 {
			t.Fatalf("unchanged file: %d changes, version %d", nChanges(), f.Current().Version())
		}

		// A good file is picked up at the next poll, not before.
		writeFile(t, path, flagFile("b"))
		time.Sleep(time.Second / 2)
		synctest.Wait()
		if got := f.String("x", ""); got != "a" {
			t.Fatalf("picked up before the poll: x = %q", got)
		}
		time.Sleep(time.Second / 2)
		synctest.Wait()
		if got := f.String("x", ""); got != "b" {
			t.Fatalf("after a poll x = %q, want b", got)
		}
		if nChanges() != 1 || !slices.Equal(changes[0].Changed, []string{"x"}) ||
			changes[0].Old.String("x", "") != "a" || changes[0].New.String("x", "") != "b" {
			t.Fatalf("changes = %+v", changes)
		}

		// Touching the file without changing it does nothing.
		writeFile(t, path, flagFile("b"))
		tick()
		if nChanges() != 1 || f.Current().Version() != 2 {
			t.Fatalf("touched file: %d changes, version %d", nChanges(), f.Current().Version())
		}

		// A bad file is rejected once and logged once.
		writeFile(t, path, badFile)
		tick()
		tick()
		tick()
		if got := f.String("x", ""); got != "b" {
			t.Errorf("after a bad file x = %q, want b", got)
		}
		if s := f.Snapshot(); s.Rejected != 1 || s.LastError == nil {
			t.Errorf("after a bad file: %+v", s)
		}
		if n := logs.count("rejected flag file"); n != 1 {
			t.Errorf("rejection logged %d times, want 1:\n%s", n, logs)
		}

		// A removed file keeps the flags and is logged once.
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		tick()
		tick()
		if got := f.String("x", ""); got != "b" {
			t.Errorf("after removal x = %q, want b", got)
		}
		if n := logs.count("flag file is missing"); n != 1 {
			t.Errorf("missing file logged %d times, want 1:\n%s", n, logs)
		}
		if !f.Snapshot().Missing {
			t.Error("Snapshot.Missing = false")
		}

		// It comes back, fixed.
		writeFile(t, path, flagFile("c"))
		tick()
		if got := f.String("x", ""); got != "c" {
			t.Errorf("after the file came back x = %q, want c", got)
		}
		if s := f.Snapshot(); s.Missing || s.LastError != nil || s.Version != 3 || nChanges() != 2 {
			t.Errorf("after the file came back: %+v, %d changes", s, nChanges())
		}

		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v, want context.Canceled", err)
		}
	})
}

func TestWatchFileBackUnchanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, path, logs := setup(t, flagFile("a"), Config{Interval: time.Second})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go f.Watch(ctx)
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		writeFile(t, path, flagFile("a"))
		time.Sleep(time.Second)
		synctest.Wait()
		if s := f.Snapshot(); s.Missing || s.LastError != nil || s.Version != 1 {
			t.Errorf("file back unchanged: %+v", s)
		}
		if !strings.Contains(logs.String(), "back, unchanged") {
			t.Errorf("log: %s", logs)
		}
		cancel()
		synctest.Wait()
	})
}

func TestEnvOverrides(t *testing.T) {
	file := `{"flags":[
	  {"name":"new-checkout","type":"bool","value":false,"rollout":10},
	  {"name":"banner.text","type":"string","value":"hi"},
	  {"name":"ratio","type":"number","value":0.5},
	  {"name":"killed","type":"bool","value":true,"kill":true}]}`
	env := []string{
		"BULWARK_FLAG_NEW_CHECKOUT=true",
		"BULWARK_FLAG_BANNER_TEXT=hello there",
		"BULWARK_FLAG_RATIO=0.75",
		"BULWARK_FLAG_KILLED=true",
		"BULWARK_FLAG_TYPO=1",
		"OTHER=1",
	}
	f, _, logs := setup(t, file, Config{Environ: func() []string { return env }})
	ev := f.Evaluate("new-checkout", Target{})
	if ev.Value != true || ev.Reason != ReasonStatic || ev.Variant != VariantOverride {
		t.Errorf("new-checkout = %+v, want the override", ev)
	}
	if got := f.String("banner.text", ""); got != "hello there" {
		t.Errorf("banner.text = %q", got)
	}
	if got := f.Float("ratio", 0); got != 0.75 {
		t.Errorf("ratio = %v", got)
	}
	if f.Bool("killed", true) {
		t.Error("an override beat the kill switch")
	}
	if !strings.Contains(logs.String(), "BULWARK_FLAG_TYPO") {
		t.Errorf("the unknown variable was not logged: %s", logs)
	}
	if strings.Contains(logs.String(), "OTHER") {
		t.Errorf("a variable without the prefix was logged: %s", logs)
	}
}

func TestEnvOverrideErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  string
		want []string
	}{
		{"bad bool", `{"flags":[{"name":"a-b","type":"bool","value":true}]}`, "APP_A_B=yes",
			[]string{`flag "a-b"`, "env APP_A_B", `"yes" is not a bool`}},
		{"bad number", `{"flags":[{"name":"n","type":"number","value":1}]}`, "APP_N=1,5",
			[]string{`flag "n"`, "env APP_N", "not a finite number"}},
		{"infinite number", `{"flags":[{"name":"n","type":"number","value":1}]}`, "APP_N=Inf",
			[]string{"env APP_N"}},
		{"collision", `{"flags":[{"name":"a-b","type":"bool","value":true},{"name":"a.b","type":"bool","value":true}]}`, "",
			[]string{`"a-b" and "a.b"`, "APP_A_B"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.json")
			writeFile(t, path, tt.file)
			_, err := New(Config{Path: path, EnvPrefix: "APP_", Logger: slog.New(slog.DiscardHandler),
				Environ: func() []string { return []string{tt.env} }})
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("New error = %v, want ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestEnvReadAtReloadAndDisable(t *testing.T) {
	var env atomic.Value
	env.Store([]string{})
	f, _, _ := setup(t, flagFile("a"), Config{Environ: func() []string { return env.Load().([]string) }})
	env.Store([]string{"BULWARK_FLAG_X=from-env"})
	var got []Change
	f.Subscribe(func(c Change) { got = append(got, c) })
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	if v := f.String("x", ""); v != "from-env" {
		t.Errorf("x = %q after Reload with an override", v)
	}
	if len(got) != 1 || !slices.Equal(got[0].Changed, []string{"x"}) {
		t.Errorf("changes = %+v", got)
	}

	t.Setenv("BULWARK_FLAG_X", "from-process")
	g, _, _ := setup(t, flagFile("a"), Config{Environ: os.Environ, DisableEnv: true})
	if v := g.String("x", ""); v != "a" {
		t.Errorf("x = %q with DisableEnv", v)
	}
	h, _, _ := setup(t, flagFile("a"), Config{Environ: os.Environ})
	if v := h.String("x", ""); v != "from-process" {
		t.Errorf("x = %q with the process environment", v)
	}
}

func TestEnvName(t *testing.T) {
	for name, want := range map[string]string{
		"new-checkout": "P_NEW_CHECKOUT", "a.b_c": "P_A_B_C", "X9": "P_X9", "ünï": "P___N__",
	} {
		if got := EnvName("P_", name); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestSubscribe(t *testing.T) {
	f, path, _ := setup(t, flagFile("a"), Config{})
	var calls []string
	var cancel2 func()
	cancel1 := f.Subscribe(func(c Change) {
		// Listeners run outside the lock: they may read figures and flags.
		s := f.Snapshot()
		calls = append(calls, fmt.Sprintf("1:%v:%d:%s", c.Changed, s.Version, f.String("x", "")))
	})
	cancel2 = f.Subscribe(func(c Change) { calls = append(calls, fmt.Sprintf("2:%v", c.Changed)) })

	writeFile(t, path, `{"kill":false,"flags":[{"name":"x","type":"string","value":"b"},{"name":"z","type":"bool","value":true}]}`)
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	cancel2()
	cancel2() // twice is fine
	// Reloading the same content reports nothing.
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	// The global kill changes every flag.
	writeFile(t, path, `{"kill":true,"flags":[{"name":"x","type":"string","value":"b"},{"name":"z","type":"bool","value":true}]}`)
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	cancel1()
	writeFile(t, path, flagFile("q"))
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	want := []string{"1:[x y z]:2:b", "2:[x y z]", "1:[x z]:4:"} // the same content again is version 3, silently; killed x is ""
	if !slices.Equal(calls, want) {
		t.Errorf("calls = %q, want %q", calls, want)
	}
}

func TestListenerMayReload(t *testing.T) {
	f, path, _ := setup(t, flagFile("a"), Config{})
	reloaded := false
	f.Subscribe(func(Change) {
		if !reloaded {
			reloaded = true
			if err := f.Reload(); err != nil {
				t.Error(err)
			}
		}
	})
	writeFile(t, path, flagFile("b"))
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	if !reloaded {
		t.Error("listener not called")
	}
}

func TestSubscribeNilPanics(t *testing.T) {
	f, _, _ := setup(t, flagFile("a"), Config{})
	defer func() {
		if recover() == nil {
			t.Error("Subscribe(nil) did not panic")
		}
	}()
	f.Subscribe(nil)
}

// Readers never see a torn or missing set while reloads swap it.
func TestConcurrentReadsDuringReloads(t *testing.T) {
	f, path, _ := setup(t, flagFile("a"), Config{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				x := f.String("x", "missing")
				if x != "a" && x != "b" {
					t.Errorf("x = %q", x)
					return
				}
				if !f.BoolFor("y", Target{Key: "k"}, false) {
					t.Error("y = false")
					return
				}
			}
		})
	}
	for i := range 50 {
		writeFile(t, path, flagFile(string(rune('a'+i%2))))
		if err := f.Reload(); err != nil {
			t.Fatal(err)
		}
		_ = f.Snapshot()
	}
	close(stop)
	wg.Wait()
}
