package perkey

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/bulwark-go/bulwark/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

type val struct {
	key  string
	keep bool
}

// recorder makes values and records the hooks' calls.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) config(max int) Config[*val] {
	return Config[*val]{
		Max:       max,
		New:       func(k string) (*val, error) { return &val{key: k}, nil },
		Keep:      func(v *val) bool { return v.keep },
		Made:      func(v *val) { r.add("made " + v.key) },
		Forgotten: func(v *val) { r.add("forgot " + v.key) },
	}
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.events = append(r.events, s)
	r.mu.Unlock()
}

func TestMapMakesForgetsAndTells(t *testing.T) {
	var r recorder
	m := New(r.config(2))
	a, _ := m.Get("a")
	a.keep = true // an open breaker: kept when the map is full
	b1, _ := m.Get("b")
	if again, _ := m.Get("a"); again != a {
		t.Fatal("a looked up twice gave two values")
	}
	m.Get("c") // full: forgets b, not a
	b2, _ := m.Get("b")
	if b2 == b1 {
		t.Error("b was forgotten, but looking it up gave the old value")
	}
	want := []string{"made a", "made b", "forgot b", "made c", "forgot c", "made b"}
	if !slices.Equal(r.events, want) {
		t.Errorf("hooks: got %q, want %q", r.events, want)
	}
	if m.Len() != 2 {
		t.Errorf("Len %d, want 2", m.Len())
	}
}

func TestMapAllKept(t *testing.T) {
	m := New(Config[*val]{Max: 1, New: func(k string) (*val, error) { return &val{key: k, keep: true}, nil },
		Keep: func(v *val) bool { return v.keep }})
	m.Get("a")
	m.Get("b") // every value kept: one goes anyway
	if all := m.All(); len(all) != 1 || all["b"] == nil {
		t.Errorf("All = %v, want only b", all)
	}
}

func TestMapNewFails(t *testing.T) {
	boom := errors.New("boom")
	m := New(Config[*val]{Max: 1, New: func(string) (*val, error) { return nil, boom }})
	if _, err := m.Get("a"); !errors.Is(err, boom) || m.Len() != 0 {
		t.Errorf("got %v with %d keys, want boom and none", err, m.Len())
	}
}

// Under churn, every value made is told once, every value forgotten is
// told once after it was made, and the keys kept are those made and not
// forgotten.
func TestMapConcurrentChurn(t *testing.T) {
	var r recorder
	m := New(r.config(4))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				if _, err := m.Get(fmt.Sprint((g*7 + i) % 9)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	live := map[string]bool{}
	for _, e := range r.events {
		var verb, key string
		fmt.Sscan(e, &verb, &key)
		switch verb {
		case "made":
			if live[key] {
				t.Fatalf("%s made twice without being forgotten", key)
			}
			live[key] = true
		case "forgot":
			if !live[key] {
				t.Fatalf("%s forgotten before it was made", key)
			}
			delete(live, key)
		}
	}
	all := m.All()
	if len(all) != len(live) {
		t.Errorf("map holds %d keys, hooks say %d", len(all), len(live))
	}
	for k := range all {
		if !live[k] {
			t.Errorf("map holds %s, hooks say it is gone", k)
		}
	}
}
