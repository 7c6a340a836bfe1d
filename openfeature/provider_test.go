package openfeature

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/bulwark-go/bulwark/feature"
	"github.com/bulwark-go/bulwark/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

const flagsJSON = `{"flags": [
  {"name": "static", "type": "bool", "value": true},
  {"name": "checkout", "type": "bool", "value": true, "rollout": 50,
   "rules": [{"attribute": "country", "in": ["NZ", "AU"], "variant": "anz"}]},
  {"name": "killed", "type": "bool", "value": true, "kill": true},
  {"name": "color", "type": "string", "value": "blue", "rules": [{"attribute": "beta", "in": ["true"], "value": "green"}]},
  {"name": "ratio", "type": "number", "value": 2.5},
  {"name": "limit", "type": "number", "value": 10}
]}`

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func openFlags(t testing.TB, content string) (*feature.Flags, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "flags.json")
	writeFile(t, path, content)
	f, err := feature.New(feature.Config{Path: path, DisableEnv: true, Logger: slog.New(slog.DiscardHandler),
		Interval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return f, path
}

// register installs p as the SDK's default provider for the test and
// resets the SDK's global state afterwards.
func register(t *testing.T, p *Provider) *of.Client {
	t.Helper()
	t.Cleanup(of.Shutdown)
	if err := of.SetProviderAndWait(p); err != nil {
		t.Fatal(err)
	}
	return of.NewDefaultClient()
}

func TestNewConfig(t *testing.T) {
	flags, _ := openFlags(t, flagsJSON)
	open := func() (*feature.Flags, error) { return flags, nil }
	for _, cfg := range []Config{{}, {Flags: flags, Open: open}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	p, err := New(Config{Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	if p.Metadata().Name != DefaultName || p.Hooks() != nil || p.Flags() != flags {
		t.Errorf("Metadata, Hooks, Flags = %v, %v, %v", p.Metadata(), p.Hooks(), p.Flags())
	}
}

func TestEvaluationsThroughClient(t *testing.T) {
	flags, _ := openFlags(t, flagsJSON)
	p, err := New(Config{Flags: flags, Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	client := register(t, p)
	ctx := context.Background()
	var in, out string
	for i := 0; in == "" || out == ""; i++ {
		k := "user-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if feature.InRollout("checkout", k, 50) {
			in = k
		} else {
			out = k
		}
	}
	nz := of.NewEvaluationContext(out, map[string]any{"country": "NZ"})

	type want struct {
		value   any
		reason  of.Reason
		variant string
		code    of.ErrorCode
	}
	tests := []struct {
		name string
		eval func() (any, of.ResolutionDetail, error)
		want want
	}{
		{"bool static", boolEval(client, ctx, "static", false, of.EvaluationContext{}),
			want{true, of.StaticReason, "on", ""}},
		{"bool rule", boolEval(client, ctx, "checkout", false, nz),
			want{true, of.TargetingMatchReason, "anz", ""}},
		{"bool split in", boolEval(client, ctx, "checkout", false, of.NewTargetlessEvaluationContext(map[string]any{"targetingKey": in})),
			want{true, of.SplitReason, "on", ""}},
		{"bool split out", boolEval(client, ctx, "checkout", true, of.NewEvaluationContext(out, nil)),
			want{false, of.SplitReason, "off", ""}},
		{"bool no key", boolEval(client, ctx, "checkout", true, of.EvaluationContext{}),
			want{true, of.ErrorReason, "", of.TargetingKeyMissingCode}},
		{"bool killed", boolEval(client, ctx, "killed", true, of.EvaluationContext{}),
			want{false, of.DisabledReason, "off", ""}},
		{"bool not found", boolEval(client, ctx, "nope", true, of.EvaluationContext{}),
			want{true, of.ErrorReason, "", of.FlagNotFoundCode}},
		{"bool on a string flag", boolEval(client, ctx, "color", true, of.EvaluationContext{}),
			want{true, of.ErrorReason, "", of.TypeMismatchCode}},
		{"string default reason", func() (any, of.ResolutionDetail, error) {
			d, err := client.StringValueDetails(ctx, "color", "x", of.EvaluationContext{})
			return d.Value, d.ResolutionDetail, err
		}, want{"blue", of.DefaultReason, "on", ""}},
		{"string rule with a bool attribute", func() (any, of.ResolutionDetail, error) {
			d, err := client.StringValueDetails(ctx, "color", "x", of.NewTargetlessEvaluationContext(map[string]any{"beta": true}))
			return d.Value, d.ResolutionDetail, err
		}, want{"green", of.TargetingMatchReason, "rule-1", ""}},
		{"float", func() (any, of.ResolutionDetail, error) {
			d, err := client.FloatValueDetails(ctx, "ratio", 0, of.EvaluationContext{})
			return d.Value, d.ResolutionDetail, err
		}, want{2.5, of.StaticReason, "on", ""}},
		{"float on a bool flag", func() (any, of.ResolutionDetail, error) {
			d, err := client.FloatValueDetails(ctx, "static", 1, of.EvaluationContext{})
			return d.Value, d.ResolutionDetail, err
		}, want{1.0, of.ErrorReason, "", of.TypeMismatchCode}},
		{"int", func() (any, of.ResolutionDetail, error) {
			d, err := client.IntValueDetails(ctx, "limit", 0, of.EvaluationContext{})
			return d.Value, d.ResolutionDetail, err
		}, want{int64(10), of.StaticReason, "on", ""}},
		{"int of a fraction", func() (any, of.ResolutionDetail, error) {
			d, err := client.IntValueDetails(ctx, "ratio", 7, of.EvaluationContext{})
			return d.Value, d.ResolutionDetail, err
		}, want{int64(7), of.ErrorReason, "", of.TypeMismatchCode}},
		{"object", func() (any, of.ResolutionDetail, error) {
			d, err := client.ObjectValueDetails(ctx, "color", nil, of.EvaluationContext{})
			return d.Value, d.ResolutionDetail, err
		}, want{"blue", of.DefaultReason, "on", ""}},
		{"object not found", func() (any, of.ResolutionDetail, error) {
			d, err := client.ObjectValueDetails(ctx, "nope", "dflt", of.EvaluationContext{})
			return d.Value, d.ResolutionDetail, err
		}, want{"dflt", of.ErrorReason, "", of.FlagNotFoundCode}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, d, err := tt.eval()
			if v != tt.want.value || d.Reason != tt.want.reason || d.Variant != tt.want.variant || d.ErrorCode != tt.want.code {
				t.Errorf("got %v %s %q %q, want %v %s %q %q", v, d.Reason, d.Variant, d.ErrorCode,
					tt.want.value, tt.want.reason, tt.want.variant, tt.want.code)
			}
			if (err != nil) != (tt.want.code != "") {
				t.Errorf("err = %v with code %q", err, tt.want.code)
			}
			if tt.want.code == "" && d.FlagMetadata["type"] == nil {
				t.Errorf("no type in flag metadata: %v", d.FlagMetadata)
			}
		})
	}
}

func boolEval(c *of.Client, ctx context.Context, flag string, def bool, ec of.EvaluationContext) func() (any, of.ResolutionDetail, error) {
	return func() (any, of.ResolutionDetail, error) {
		d, err := c.BooleanValueDetails(ctx, flag, def, ec)
		return d.Value, d.ResolutionDetail, err
	}
}

// waitEvent waits for an event the SDK delivers on its own goroutines.
func waitEvent(t *testing.T, ch <-chan of.EventDetails) of.EventDetails {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
		return of.EventDetails{}
	}
}

func TestConfigurationChangedOnReload(t *testing.T) {
	flags, path := openFlags(t, flagsJSON)
	p, err := New(Config{Flags: flags, Name: "reloading"})
	if err != nil {
		t.Fatal(err)
	}
	client := register(t, p)
	changed := make(chan of.EventDetails, 4)
	cb := func(e of.EventDetails) { changed <- e }
	client.AddHandler(of.ProviderConfigChange, &cb)

	writeFile(t, path, `{"flags": [{"name": "static", "type": "bool", "value": false}, {"name": "added", "type": "string", "value": "x"}]}`)
	if err := flags.Reload(); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, changed)
	want := []string{"added", "checkout", "color", "killed", "limit", "ratio", "static"}
	if e.ProviderName != "reloading" || !slices.Equal(e.FlagChanges, want) || e.EventMetadata["version"] != int64(2) {
		t.Errorf("event = %+v, want changes %v and version 2", e, want)
	}
	if v, _ := client.BooleanValue(context.Background(), "static", true, of.EvaluationContext{}); v {
		t.Error("static is still true after the reload")
	}
	if s := client.State(); s != of.ReadyState {
		t.Errorf("state = %s, want READY", s)
	}

	// A rejected file changes nothing and emits nothing; the next good one does.
	writeFile(t, path, `{"flags": [{"name": "static", "type": "bool", "value": "no"}]}`)
	if err := flags.Reload(); err == nil {
		t.Fatal("bad file accepted")
	}
	writeFile(t, path, `{"flags": [{"name": "static", "type": "bool", "value": true}, {"name": "added", "type": "string", "value": "x"}]}`)
	if err := flags.Reload(); err != nil {
		t.Fatal(err)
	}
	e = waitEvent(t, changed)
	if !slices.Equal(e.FlagChanges, []string{"static"}) {
		t.Errorf("second event = %+v, want only static", e)
	}
	select {
	case e := <-changed:
		t.Errorf("unexpected event %+v", e)
	default:
	}
}

func TestOpenAndWatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.json")
	writeFile(t, path, flagsJSON)
	opened := 0
	p, err := New(Config{Watch: true, Open: func() (*feature.Flags, error) {
		opened++
		return feature.New(feature.Config{Path: path, DisableEnv: true, Interval: 5 * time.Millisecond,
			Logger: slog.New(slog.DiscardHandler)})
	}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Flags() != nil {
		t.Fatal("flags opened before Init")
	}
	client := register(t, p)
	ready := make(chan of.EventDetails, 4)
	changed := make(chan of.EventDetails, 4)
	rcb := func(e of.EventDetails) { ready <- e }
	ccb := func(e of.EventDetails) { changed <- e }
	client.AddHandler(of.ProviderReady, &rcb) // fires at once: the provider is ready
	client.AddHandler(of.ProviderConfigChange, &ccb)
	waitEvent(t, ready)
	if opened != 1 {
		t.Errorf("Open called %d times", opened)
	}
	// The provider's own Watch picks the change up.
	writeFile(t, path, `{"flags": [{"name": "static", "type": "bool", "value": false}]}`)
	e := waitEvent(t, changed)
	if len(e.FlagChanges) != 6 {
		t.Errorf("changes = %v", e.FlagChanges)
	}
	if v, err := client.BooleanValue(context.Background(), "static", true, of.EvaluationContext{}); v || err != nil {
		t.Errorf("static = %v, %v after the watched change", v, err)
	}
}

func TestOpenFailure(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	writeFile(t, bad, `{"flags": [{"name": "x", "type": "bool", "value": 3}]}`)
	tests := []struct {
		name string
		path string
		code of.ErrorCode
	}{
		{"invalid", bad, of.ParseErrorCode},
		{"missing", filepath.Join(dir, "missing.json"), of.GeneralCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(Config{Open: func() (*feature.Flags, error) {
				return feature.New(feature.Config{Path: tt.path, DisableEnv: true, Logger: slog.New(slog.DiscardHandler)})
			}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(of.Shutdown)
			err = of.SetProviderAndWait(p)
			var ie *of.ProviderInitError
			if !errors.As(err, &ie) || ie.ErrorCode != tt.code {
				t.Fatalf("SetProviderAndWait = %v, want a ProviderInitError with %s", err, tt.code)
			}
			client := of.NewDefaultClient()
			if s := client.State(); s != of.ErrorState {
				t.Errorf("state = %s, want ERROR", s)
			}
			d, err := client.BooleanValueDetails(context.Background(), "x", true, of.EvaluationContext{})
			if err == nil || d.Value != true || d.ErrorCode != tt.code || d.Reason != of.ErrorReason {
				t.Errorf("evaluation = %+v, %v; want the default with %s", d, err, tt.code)
			}
		})
	}
}

func TestNotReadyBeforeInit(t *testing.T) {
	p, err := New(Config{Open: func() (*feature.Flags, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	d := p.BooleanEvaluation(context.Background(), "x", true, nil)
	if d.Value != true || d.ResolutionDetail().ErrorCode != of.ProviderNotReadyCode {
		t.Errorf("before Init: %+v", d)
	}
	if err := p.Init(of.EvaluationContext{}); err == nil {
		t.Error("Init with an Open that returns nothing succeeded")
	}
}

// A change the SDK is slow to take blocks the reloading goroutine only
// until Shutdown; afterwards changes are no longer reported.
func TestShutdownReleasesPendingEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		flags, path := openFlags(t, `{"flags": [{"name": "n", "type": "number", "value": 0}]}`)
		p, err := New(Config{Flags: flags})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Init(of.EvaluationContext{}); err != nil {
			t.Fatal(err)
		}
		if err := p.Init(of.EvaluationContext{}); err != nil { // a second Init does nothing
			t.Fatal(err)
		}
		capacity := cap(p.events)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 1; i <= capacity+1; i++ {
				writeFile(t, path, `{"flags": [{"name": "n", "type": "number", "value": `+string(rune('0'+i%10))+`}]}`)
				if err := flags.Reload(); err != nil {
					t.Error(err)
				}
			}
		}()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("the reloads finished although nobody reads the events")
		default:
		}
		if n := len(p.events); n != capacity {
			t.Fatalf("%d events queued, want %d", n, capacity)
		}
		p.Shutdown()
		<-done
		p.Shutdown() // twice is fine
		if err := flags.Reload(); err != nil {
			t.Fatal(err)
		}
		if n := len(p.events); n != capacity {
			t.Errorf("%d events queued after Shutdown, want %d", n, capacity)
		}
	})
}

type stringer struct{}

func (stringer) String() string { return "str" }

func TestTarget(t *testing.T) {
	when := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	got := Target(of.FlattenedContext{
		of.TargetingKey: "user-1", "s": "x", "b": true, "i": 42, "i64": int64(-7), "u8": uint8(3),
		"f": 1.5, "f32": float32(0.25), "t": when, "str": stringer{}, "list": []any{1}, "map": map[string]any{},
	})
	want := map[string]string{"s": "x", "b": "true", "i": "42", "i64": "-7", "u8": "3", "f": "1.5",
		"f32": "0.25", "t": "2024-05-06T07:08:09Z", "str": "str"}
	if got.Key != "user-1" || len(got.Attrs) != len(want) {
		t.Fatalf("Target = %+v", got)
	}
	for k, v := range want {
		if got.Attrs[k] != v {
			t.Errorf("Attrs[%q] = %q, want %q", k, got.Attrs[k], v)
		}
	}
	if tg := Target(nil); tg.Key != "" || tg.Attrs != nil {
		t.Errorf("Target(nil) = %+v", tg)
	}
	// A targeting key that is not a string is kept as an attribute.
	if tg := Target(of.FlattenedContext{of.TargetingKey: 5}); tg.Key != "" || tg.Attrs[of.TargetingKey] != "5" {
		t.Errorf("Target with a numeric key = %+v", tg)
	}
}
