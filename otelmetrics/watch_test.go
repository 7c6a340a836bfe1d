package otelmetrics

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestWatchRejects(t *testing.T) {
	m, _ := newTest(t)
	br, err := breaker.New(breaker.Config{Name: "db"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Watch(br); err != nil {
		t.Fatal(err)
	}
	other, _ := breaker.New(breaker.Config{Name: "cache"})
	again, _ := breaker.New(breaker.Config{Name: "db"})
	tests := []struct {
		name     string
		policies []any
		is       error
		want     string
	}{
		{"same kind and name", []any{again}, ErrWatched, `breaker "db"`},
		{"twice in one call", []any{other, other}, ErrWatched, `breaker "cache"`},
		{"unknown type", []any{other, 42}, nil, "policy 1: int does not implement bulwark.Watchable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.Watch(tt.policies...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("Watch: %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	if err := m.Watch(other); err != nil {
		t.Errorf("Watch(cache) after the failures: %v", err)
	}
}

func TestCloseStopsReporting(t *testing.T) {
	m, r := newTest(t)
	br, _ := breaker.New(breaker.Config{Name: "db", Observer: m})
	if err := m.Watch(br); err != nil {
		t.Fatal(err)
	}
	if _, ok := collect(t, r)["bulwark.breaker.state"]; !ok {
		t.Fatal("bulwark.breaker.state not reported before Close")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	ms := collect(t, r)
	for _, name := range []string{"bulwark.breaker.state", "bulwark.breaker.calls"} {
		if _, ok := ms[name]; ok {
			t.Errorf("%s still reported after Close", name)
		}
	}
}

func TestPipeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, r := newTest(t)
		p := m.Pipeline("checkout", bulwark.Chain())
		ctx := t.Context()
		boom := errors.New("boom")
		_ = bulwark.Run(ctx, p, func(ctx context.Context) error { time.Sleep(40 * time.Millisecond); return nil })
		_ = bulwark.Run(ctx, p, func(ctx context.Context) error { time.Sleep(2 * time.Second); return boom })
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_ = bulwark.Run(cctx, p, func(ctx context.Context) error { return ctx.Err() })
		func() {
			defer func() { recover() }()
			_ = bulwark.Run(ctx, p, func(ctx context.Context) error { time.Sleep(time.Second); panic("kaput") })
		}()
		got := map[string]string{}
		for _, dp := range histogram(t, collect(t, r), "bulwark.pipeline.duration").DataPoints {
			got[attrs(dp.Attributes)] = itoa(float64(dp.Count)) + " " + itoa(dp.Sum)
		}
		want := map[string]string{
			"name=checkout,outcome=success": "1 0.04",
			"name=checkout,outcome=failure": "2 3",
			"name=checkout,outcome=ignored": "1 0",
		}
		if len(got) != len(want) {
			t.Errorf("got %v, want %v", got, want)
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: got %q, want %q", k, got[k], w)
			}
		}
	})
}

func TestPipelineNilPolicyPanics(t *testing.T) {
	m, _ := newTest(t)
	defer func() {
		if recover() == nil {
			t.Error("Pipeline(nil) did not panic")
		}
	}()
	m.Pipeline("x", nil)
}
