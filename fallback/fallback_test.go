package fallback_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/internal/eventlog"
)

var (
	errBoom     = errors.New("boom")
	errNotFound = errors.New("not found")
	errCache    = errors.New("cache down")
)

func mustNew(t *testing.T, c fallback.Config) *fallback.Fallback {
	t.Helper()
	f, err := fallback.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func op(v any, err error) bulwark.Operation {
	return bulwark.OperationFunc(func(context.Context) (any, error) { return v, err })
}

func TestNewRequiresFunc(t *testing.T) {
	f, err := fallback.New(fallback.Config{Name: "x"})
	if f != nil || err == nil || err.Error() != "fallback: Config.Func is required" {
		t.Errorf("New without Func = %v, %v", f, err)
	}
}

func TestRules(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name        string
		ctx         context.Context
		handles     func(error) bool
		fn          fallback.Func
		op          bulwark.Operation
		wantV       any
		wantErr     error
		wantHandled bool
	}{
		{name: "success passes through", op: op("live", nil), fn: fallback.Value("stale"), wantV: "live"},
		{name: "error replaced by value", op: op(nil, errBoom), fn: fallback.Value("stale"), wantV: "stale", wantHandled: true},
		{name: "value and error of the call are both replaced", op: op("partial", errBoom), fn: fallback.Value("stale"),
			wantV: "stale", wantHandled: true},
		{name: "func sees the error", op: op(nil, errBoom),
			fn:    func(_ context.Context, err error) (any, error) { return "saw " + err.Error(), nil },
			wantV: "saw boom", wantHandled: true},
		{name: "func error is returned as it is", op: op(nil, errBoom),
			fn: func(context.Context, error) (any, error) { return nil, errCache }, wantErr: errCache, wantHandled: true},
		{name: "not handled", op: op("partial", errNotFound), fn: fallback.Value("stale"),
			handles: func(err error) bool { return !errors.Is(err, errNotFound) }, wantV: "partial", wantErr: errNotFound},
		{name: "handled by predicate", op: op(nil, errBoom), fn: fallback.Value("stale"),
			handles: func(err error) bool { return !errors.Is(err, errNotFound) }, wantV: "stale", wantHandled: true},
		{name: "caller's cancellation is never replaced", ctx: cancelled, op: op(nil, fmt.Errorf("q: %w", context.Canceled)),
			fn: fallback.Value("stale"), handles: func(error) bool { return true }, wantErr: context.Canceled},
		// A deadline error while the caller's ctx is live is the dependency's
		// (an inner timeout), so it is replaced.
		{name: "inner deadline is replaced", op: op(nil, context.DeadlineExceeded), fn: fallback.Value("stale"),
			wantV: "stale", wantHandled: true},
		// The caller's ctx is done but the error is the dependency's own.
		{name: "other error after cancellation is replaced", ctx: cancelled, op: op(nil, errBoom),
			fn: fallback.Value("stale"), wantV: "stale", wantHandled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			var rec eventlog.Recorder
			f := mustNew(t, fallback.Config{Name: "fb", Func: tt.fn, IsHandled: tt.handles, Observer: &rec})
			v, err := f.Execute(ctx, tt.op)
			if v != tt.wantV || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Execute = %v, %v; want %v, %v", v, err, tt.wantV, tt.wantErr)
			}
			var handled, failed uint64
			if tt.wantHandled {
				handled = 1
				if err != nil {
					failed = 1
				}
			}
			want := fallback.Snapshot{Calls: 1, Handled: handled, Failed: failed}
			if got := f.Snapshot(); got != want {
				t.Errorf("Snapshot = %+v, want %+v", got, want)
			}
			if rec.Len() != int(handled) {
				t.Fatalf("events = %+v, want %d", rec.Events(), handled)
			}
			if handled == 1 {
				e := rec.Events()[0]
				wantOutcome := bulwark.OutcomeSuccess
				if failed == 1 {
					wantOutcome = bulwark.OutcomeFailure
				}
				if e.Kind != bulwark.KindFallback || e.Policy != "fallback" || e.Name != "fb" || e.Outcome != wantOutcome {
					t.Errorf("event = %+v", e)
				}
				if _, callErr := tt.op.Call(ctx); e.Err != callErr {
					t.Errorf("event Err = %v, want the call's error %v", e.Err, callErr)
				}
			}
		})
	}
}

func TestFuncGetsTheCallersContext(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	f := mustNew(t, fallback.Config{Func: func(ctx context.Context, err error) (any, error) {
		return ctx.Value(key{}), nil
	}})
	if v, _ := f.Execute(ctx, op(nil, errBoom)); v != "v" {
		t.Errorf("Func saw ctx value %v, want v", v)
	}
}

func TestForIsTyped(t *testing.T) {
	f := mustNew(t, fallback.Config{Func: fallback.For(func(_ context.Context, err error) ([]string, error) {
		return []string{"popular"}, nil
	})})
	got, err := bulwark.Get(context.Background(), f, func(context.Context) ([]string, error) {
		return nil, errBoom
	})
	if err != nil || !reflect.DeepEqual(got, []string{"popular"}) {
		t.Errorf("Get = %v, %v; want [popular], nil", got, err)
	}

	// For passes its error through, typed zero value and all.
	f = mustNew(t, fallback.Config{Func: fallback.For(func(context.Context, error) (int, error) { return 0, errCache })})
	n, err := bulwark.Get(context.Background(), f, func(context.Context) (int, error) { return 0, errBoom })
	if n != 0 || err != errCache {
		t.Errorf("Get = %v, %v; want 0, errCache", n, err)
	}
}

// A fallback of the wrong type: bulwark.Get reports it, it is not hidden.
func TestWrongType(t *testing.T) {
	f := mustNew(t, fallback.Config{Func: fallback.Value("not a number")})
	n, err := bulwark.Get(context.Background(), f, func(context.Context) (int, error) { return 0, errBoom })
	var rt *bulwark.ResultTypeError
	if n != 0 || !errors.As(err, &rt) {
		t.Fatalf("Get = %v, %v; want 0 and a *ResultTypeError", n, err)
	}
	if rt.Want != reflect.TypeFor[int]() || rt.Got != reflect.TypeFor[string]() || rt.Err != nil {
		t.Errorf("ResultTypeError = %+v", rt)
	}
}

func TestValueNil(t *testing.T) {
	f := mustNew(t, fallback.Config{Func: fallback.Value(nil)})
	p, err := bulwark.Get(context.Background(), f, func(context.Context) (*int, error) { return nil, errBoom })
	if p != nil || err != nil {
		t.Errorf("Get = %v, %v; want nil, nil", p, err)
	}
}

func TestPanicsAreNotSwallowed(t *testing.T) {
	tests := []struct {
		name string
		fn   fallback.Func
		op   bulwark.Operation
	}{
		{"in the fallback", func(context.Context, error) (any, error) { panic("fallback kaboom") }, op(nil, errBoom)},
		{"in the operation", fallback.Value("stale"),
			bulwark.OperationFunc(func(context.Context) (any, error) { panic("operation kaboom") })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustNew(t, fallback.Config{Func: tt.fn})
			defer func() {
				if p := recover(); p == nil {
					t.Error("the panic was swallowed")
				}
			}()
			_, _ = f.Execute(context.Background(), tt.op)
			t.Error("Execute returned")
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	f := mustNew(t, fallback.Config{Name: "fb", Func: fallback.Value(-1), Observer: &eventlog.Recorder{}})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				var err error
				if i%2 == 0 {
					err = errBoom
				}
				n, gerr := bulwark.Get(context.Background(), f, func(context.Context) (int, error) { return g, err })
				if gerr != nil || (err != nil && n != -1) || (err == nil && n != g) {
					t.Errorf("Get = %v, %v", n, gerr)
					return
				}
			}
		})
	}
	wg.Wait()
	if s := f.Snapshot(); s != (fallback.Snapshot{Calls: 4000, Handled: 2000}) {
		t.Errorf("Snapshot = %+v", s)
	}
	if f.Name() != "fb" {
		t.Errorf("Name() = %q", f.Name())
	}
}
