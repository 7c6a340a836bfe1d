package fallback

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/eventlog"
)

var errDown = errors.New("service down")

func ok[T any](v T) func(context.Context) (T, error) {
	return func(context.Context) (T, error) { return v, nil }
}

func fail[T any](err error) func(context.Context) (T, error) {
	return func(context.Context) (T, error) { var zero T; return zero, err }
}

func TestNewStaleConfig(t *testing.T) {
	for _, tt := range []struct {
		cfg  StaleConfig
		want string
	}{
		{StaleConfig{MaxAge: -1}, "MaxAge"},
		{StaleConfig{MaxEntries: -1}, "MaxEntries"},
	} {
		if _, err := NewStale(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewStale(%+v) error = %v, want one naming %s", tt.cfg, err, tt.want)
		}
	}
	s, err := NewStale(StaleConfig{Name: "users"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != "users" || s.maxAge != DefaultMaxAge || s.maxEntries != DefaultMaxEntries {
		t.Errorf("defaults: %q %v %d", s.Name(), s.maxAge, s.maxEntries)
	}
}

func TestStaleServesLastGood(t *testing.T) {
	obs := &eventlog.Recorder{}
	s, _ := NewStale(StaleConfig{Name: "users", Observer: obs})
	ctx := WithKey(context.Background(), "user:42")

	// A failure with nothing remembered is returned as it is.
	if v, err := bulwark.Get(ctx, s, fail[string](errDown)); v != "" || !errors.Is(err, errDown) {
		t.Fatalf("first call = %q, %v", v, err)
	}
	if v, err := bulwark.Get(ctx, s, ok("alice")); v != "alice" || err != nil {
		t.Fatalf("good call = %q, %v", v, err)
	}
	if v, err := bulwark.Get(ctx, s, fail[string](errDown)); v != "alice" || err != nil {
		t.Fatalf("failed call = %q, %v; want the stale alice", v, err)
	}
	// Another key has nothing.
	if _, err := bulwark.Get(WithKey(ctx, "user:43"), s, fail[string](errDown)); !errors.Is(err, errDown) {
		t.Errorf("other key: err = %v", err)
	}
	want := StaleSnapshot{Calls: 4, Stored: 1, Served: 1, Misses: 2, Entries: 1}
	if got := s.Snapshot(); got != want {
		t.Errorf("Snapshot = %+v, want %+v", got, want)
	}
	evs := obs.Events()
	if len(evs) != 1 || evs[0].Kind != bulwark.KindFallback || evs[0].Policy != "fallback" || evs[0].Name != "users" ||
		evs[0].Outcome != bulwark.OutcomeSuccess || !errors.Is(evs[0].Err, errDown) {
		t.Errorf("events = %+v", evs)
	}
}

func TestStaleMaxAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := NewStale(StaleConfig{MaxAge: time.Minute})
		ctx := WithKey(t.Context(), "k")
		bulwark.Get(ctx, s, ok(1))
		time.Sleep(time.Minute)
		if v, err := bulwark.Get(ctx, s, fail[int](errDown)); v != 1 || err != nil {
			t.Fatalf("at MaxAge: %v, %v; want the stale 1", v, err)
		}
		time.Sleep(time.Nanosecond)
		if _, err := bulwark.Get(ctx, s, fail[int](errDown)); !errors.Is(err, errDown) {
			t.Fatalf("past MaxAge: err = %v, want errDown", err)
		}
		if sn := s.Snapshot(); sn.Expired != 1 || sn.Entries != 0 {
			t.Errorf("Snapshot = %+v", sn)
		}
		// A new success restarts the clock.
		bulwark.Get(ctx, s, ok(2))
		time.Sleep(30 * time.Second)
		bulwark.Get(ctx, s, ok(3))
		time.Sleep(45 * time.Second)
		if v, err := bulwark.Get(ctx, s, fail[int](errDown)); v != 3 || err != nil {
			t.Errorf("refreshed: %v, %v; want 3", v, err)
		}
	})
}

func TestStaleEvictsLeastRecentlyUsed(t *testing.T) {
	s, _ := NewStale(StaleConfig{MaxEntries: 2})
	bg := context.Background()
	for _, k := range []string{"a", "b"} {
		bulwark.Get(WithKey(bg, k), s, ok(k))
	}
	// Serving a makes it the most recently used, so c evicts b.
	if v, _ := bulwark.Get(WithKey(bg, "a"), s, fail[string](errDown)); v != "a" {
		t.Fatalf("a = %q", v)
	}
	bulwark.Get(WithKey(bg, "c"), s, ok("c"))
	for k, want := range map[string]string{"a": "a", "b": "", "c": "c"} {
		if v, _ := bulwark.Get(WithKey(bg, k), s, fail[string](errDown)); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	if sn := s.Snapshot(); sn.Evicted != 1 || sn.Entries != 2 {
		t.Errorf("Snapshot = %+v", sn)
	}
	// Many keys stay within the bound.
	for i := range 100 {
		bulwark.Get(WithKey(bg, fmt.Sprint(i)), s, ok(i))
	}
	if n := s.Snapshot().Entries; n != 2 {
		t.Errorf("Entries = %d, want 2", n)
	}
}

func TestStalePassesThrough(t *testing.T) {
	bg := context.Background()
	tests := []struct {
		name string
		cfg  StaleConfig
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"no key", StaleConfig{}, func() (context.Context, context.CancelFunc) { return bg, func() {} }},
		{"caller cancelled", StaleConfig{}, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(WithKey(bg, "k"))
			cancel()
			return ctx, func() {}
		}},
		{"not handled", StaleConfig{IsHandled: func(err error) bool { return !errors.Is(err, errDown) }},
			func() (context.Context, context.CancelFunc) { return WithKey(bg, "k"), func() {} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := NewStale(tt.cfg)
			ctx, cancel := tt.ctx()
			defer cancel()
			// Remember a value under k first (with a context that is not cancelled).
			bulwark.Get(WithKey(bg, "k"), s, ok("old"))
			want := errDown
			op := fail[string](errDown)
			if tt.name == "caller cancelled" {
				want = context.Canceled
				op = func(ctx context.Context) (string, error) { return "", ctx.Err() }
			}
			v, err := bulwark.Get(ctx, s, op)
			if v != "" || !errors.Is(err, want) {
				t.Errorf("got %q, %v; want the call's own error %v", v, err, want)
			}
		})
	}
	s, _ := NewStale(StaleConfig{})
	bulwark.Get(bg, s, ok("x"))
	if sn := s.Snapshot(); sn.Unkeyed != 1 || sn.Entries != 0 {
		t.Errorf("unkeyed call: %+v", sn)
	}
}

func TestStaleCustomKeyAndForget(t *testing.T) {
	type tenantKey struct{}
	s, _ := NewStale(StaleConfig{Key: func(ctx context.Context) (string, bool) {
		k, ok := ctx.Value(tenantKey{}).(string)
		return "tenant:" + k, ok
	}})
	ctx := context.WithValue(context.Background(), tenantKey{}, "acme")
	bulwark.Get(ctx, s, ok(7))
	if v, err := bulwark.Get(ctx, s, fail[int](errDown)); v != 7 || err != nil {
		t.Fatalf("got %v, %v", v, err)
	}
	s.Forget("tenant:acme")
	s.Forget("tenant:none")
	if _, err := bulwark.Get(ctx, s, fail[int](errDown)); !errors.Is(err, errDown) {
		t.Errorf("after Forget err = %v", err)
	}
}

func TestStaleRunIsNotRemembered(t *testing.T) {
	s, _ := NewStale(StaleConfig{})
	ctx := WithKey(context.Background(), "k")
	if err := bulwark.Run(ctx, s, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := bulwark.Run(ctx, s, func(context.Context) error { return errDown }); !errors.Is(err, errDown) {
		t.Errorf("Run failure turned into %v", err)
	}
}

func TestStaleTypeMismatch(t *testing.T) {
	s, _ := NewStale(StaleConfig{})
	ctx := WithKey(context.Background(), "k")
	bulwark.Get(ctx, s, ok(42))
	_, err := bulwark.Get(ctx, s, fail[string](errDown))
	var rte *bulwark.ResultTypeError
	if !errors.As(err, &rte) {
		t.Errorf("err = %v, want a *bulwark.ResultTypeError", err)
	}
}

// Stale inside a plain Fallback: the fallback answers when there is no
// stale result.
func TestStaleComposesWithFallback(t *testing.T) {
	s, _ := NewStale(StaleConfig{})
	fb, err := New(Config{Func: Value("default")})
	if err != nil {
		t.Fatal(err)
	}
	p := bulwark.Chain(fb, s)
	bg := context.Background()
	if v, _ := bulwark.Get(WithKey(bg, "a"), p, fail[string](errDown)); v != "default" {
		t.Errorf("nothing remembered: %q", v)
	}
	bulwark.Get(WithKey(bg, "a"), p, ok("fresh"))
	if v, _ := bulwark.Get(WithKey(bg, "a"), p, fail[string](errDown)); v != "fresh" {
		t.Errorf("remembered: %q", v)
	}
}

func TestStaleConcurrent(t *testing.T) {
	s, _ := NewStale(StaleConfig{MaxEntries: 8})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				ctx := WithKey(context.Background(), fmt.Sprint(i%16))
				if i%3 == 0 {
					v, err := bulwark.Get(ctx, s, fail[int](errDown))
					if err == nil && v%16 != i%16 {
						t.Errorf("key %d served %d", i%16, v)
						return
					}
				} else {
					bulwark.Get(ctx, s, ok(i+g*16*1000))
				}
				if i%50 == 0 {
					s.Forget(fmt.Sprint(i % 16))
					_ = s.Snapshot()
				}
			}
		})
	}
	wg.Wait()
	if n := s.Snapshot().Entries; n > 8 {
		t.Errorf("Entries = %d, over MaxEntries", n)
	}
}

func BenchmarkStaleSuccess(b *testing.B) {
	s, _ := NewStale(StaleConfig{})
	ctx := WithKey(context.Background(), "user:42")
	fn := ok(42)
	b.ReportAllocs()
	for b.Loop() {
		bulwark.Get(ctx, s, fn)
	}
}
