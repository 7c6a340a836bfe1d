package health

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// serve runs one request against h and returns the status, the headers and
// the body.
func serve(t *testing.T, h http.Handler, method string) (int, http.Header, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(body)
}

func TestReadinessFollowsCriticalBreakers(t *testing.T) {
	db := must(breaker.New(breaker.Config{Name: "db", WindowSize: 2, MinimumCalls: 2}))
	api := must(breaker.New(breaker.Config{Name: "api"}))
	pool := must(bulkhead.New(bulkhead.Config{Name: "pool", MaxConcurrent: 20}))
	h := New()
	if err := h.WatchCritical(db); err != nil {
		t.Fatal(err)
	}
	if err := h.Watch(api, pool); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	down := func(ctx context.Context) error { return errors.New("down") }

	const closedBody = `{"status":"ok","policies":[` +
		`{"name":"db","kind":"breaker","critical":true,"ready":true,"state":"closed","figures":{"failure_ratio":0,"slow_call_ratio":0}},` +
		`{"name":"api","kind":"breaker","critical":false,"ready":true,"state":"closed","figures":{"failure_ratio":0,"slow_call_ratio":0}},` +
		`{"name":"pool","kind":"bulkhead","critical":false,"ready":true,"figures":{"capacity":20,"in_use":0,"waiting":0}}]}` + "\n"
	const dbOpenBody = `{"status":"unavailable","policies":[` +
		`{"name":"db","kind":"breaker","critical":true,"ready":false,"state":"open","figures":{"failure_ratio":1,"slow_call_ratio":0}},` +
		`{"name":"api","kind":"breaker","critical":false,"ready":true,"state":"forced-open","figures":{"failure_ratio":0,"slow_call_ratio":0}},` +
		`{"name":"pool","kind":"bulkhead","critical":false,"ready":true,"figures":{"capacity":20,"in_use":0,"waiting":0}}]}` + "\n"

	steps := []struct {
		name      string
		act       func()
		readyCode int
		readyBody string
		liveBody  string
	}{
		{"all closed", func() {}, 200, closedBody, closedBody},
		{"a non-critical breaker forced open", api.ForceOpen, 200, "", ""},
		{"the critical breaker opens", func() {
			_ = bulwark.Run(ctx, db, down)
			_ = bulwark.Run(ctx, db, down)
		}, 503, dbOpenBody, strings.Replace(dbOpenBody, `"status":"unavailable"`, `"status":"ok"`, 1)},
		{"the critical breaker forced open", db.ForceOpen, 503, "", ""},
		{"the critical breaker reset by hand", db.Reset, 200, "", ""},
	}
	for _, s := range steps {
		s.act()
		code, hdr, body := serve(t, h.Ready(), http.MethodGet)
		if code != s.readyCode {
			t.Errorf("%s: Ready answered %d, want %d; body %s", s.name, code, s.readyCode, body)
		}
		if s.readyBody != "" && body != s.readyBody {
			t.Errorf("%s: Ready body\n%s\nwant\n%s", s.name, body, s.readyBody)
		}
		if ct := hdr.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", s.name, ct)
		}
		code, _, body = serve(t, h.Live(), http.MethodGet)
		if code != http.StatusOK {
			t.Errorf("%s: Live answered %d, want 200", s.name, code)
		}
		if s.liveBody != "" && body != s.liveBody {
			t.Errorf("%s: Live body\n%s\nwant\n%s", s.name, body, s.liveBody)
		}
	}
}

func TestHalfOpenIsReady(t *testing.T) {
	db := must(breaker.New(breaker.Config{Name: "db"}))
	h := New()
	if err := h.WatchCritical(db); err != nil {
		t.Fatal(err)
	}
	// A breaker in half-open needs traffic to find out whether the
	// dependency is back: its Description marks only open states unready.
	for _, tt := range []struct {
		state string
		ready bool
	}{{"closed", true}, {"half-open", true}, {"open", false}, {"forced-open", false}, {"forced-closed", true}, {"disabled", true}, {"metrics-only", true}} {
		if got := !db.Describe().IsUnready(tt.state); got != tt.ready {
			t.Errorf("state %s: ready %v, want %v", tt.state, got, tt.ready)
		}
	}
}

func TestMethods(t *testing.T) {
	h := New()
	for _, tt := range []struct {
		method string
		code   int
		body   string
	}{
		{http.MethodGet, 200, "{\"status\":\"ok\",\"policies\":[]}\n"},
		{http.MethodHead, 200, ""},
		{http.MethodPost, 405, "method not allowed\n"},
	} {
		for _, handler := range []http.Handler{h.Live(), h.Ready()} {
			code, hdr, body := serve(t, handler, tt.method)
			if code != tt.code || body != tt.body {
				t.Errorf("%s: %d %q, want %d %q", tt.method, code, body, tt.code, tt.body)
			}
			if tt.code == 405 && hdr.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s: Allow %q", tt.method, hdr.Get("Allow"))
			}
		}
	}
}

func TestFiguresSplitByLabel(t *testing.T) {
	inj := must(chaos.New(chaos.Config{Name: "pay", Faults: []chaos.Fault{chaos.Error(1, nil)}, Seed: 1, Enabled: true}))
	_ = bulwark.Run(context.Background(), inj, func(ctx context.Context) error { return nil })
	h := New()
	if err := h.Watch(inj); err != nil {
		t.Fatal(err)
	}
	_, _, body := serve(t, h.Ready(), http.MethodGet)
	want := `{"status":"ok","policies":[{"name":"pay","kind":"chaos","critical":false,"ready":true,` +
		`"figures":{"calls":1,"enabled":1,"injected":{"error":1,"latency":0,"panic":0,"result":0}}}]}` + "\n"
	if body != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
}

func TestWatchRejects(t *testing.T) {
	h := New()
	db := must(breaker.New(breaker.Config{Name: "db"}))
	if err := h.Watch(db); err != nil {
		t.Fatal(err)
	}
	again := must(breaker.New(breaker.Config{Name: "db"}))
	if err := h.WatchCritical(again); !errors.Is(err, ErrWatched) {
		t.Errorf("WatchCritical(same name): %v, want ErrWatched", err)
	}
	other := must(breaker.New(breaker.Config{Name: "other"}))
	if err := h.Watch(other, "x"); err == nil || !strings.Contains(err.Error(), "policy 1: string does not implement bulwark.Watchable") {
		t.Errorf("Watch(x): %v", err)
	}
	if got := len(h.Report().Policies); got != 1 {
		t.Errorf("%d policies registered after the failures, want 1", got)
	}
}
