package prommetrics

import (
	"errors"
	"strings"
	"testing"

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
		{"nil", []any{nil}, nil, "policy 0: policy is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.Watch(tt.policies...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("Watch: %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	// None of the failed calls watched "cache".
	if err := m.Watch(other); err != nil {
		t.Errorf("Watch(cache) after the failures: %v", err)
	}
}
