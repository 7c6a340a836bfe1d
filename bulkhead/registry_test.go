package bulkhead

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/bulwark-go/bulwark"
)

// A dependency that hangs fills its own pool and no other.
func TestRegistryIsolatesPools(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, err := NewRegistry(map[string]Config{
			"db":  {MaxConcurrent: 2},
			"api": {MaxConcurrent: 3, MaxWait: WaitForever},
		})
		if err != nil {
			t.Fatal(err)
		}
		db, api := reg.Get("db"), reg.Get("api")
		if db == nil || api == nil || db == api {
			t.Fatalf("Get returned %p and %p", db, api)
		}
		if db.Name() != "db" || api.Name() != "api" {
			t.Fatalf("names %q, %q; want the keys", db.Name(), api.Name())
		}
		hang := make(chan struct{})
		errs := make(chan error, 5)
		for range 5 { // 3 run and hang, 2 queue
			go func() {
				errs <- bulwark.Run(context.Background(), api, func(context.Context) error {
					<-hang
					return nil
				})
			}()
		}
		synctest.Wait()
		if s := api.Snapshot(); s.InUse != 3 || s.Waiting != 2 {
			t.Fatalf("api %+v, want 3 in use, 2 waiting", s)
		}
		for range 2 {
			if !db.TryAcquire() {
				t.Fatal("db refused while only api is busy")
			}
		}
		if db.TryAcquire() {
			t.Fatal("db gave a third permit")
		}
		got := reg.Snapshot()
		want := map[string]Snapshot{
			"db":  {Capacity: 2, InUse: 2, Acquired: 2, Rejected: 1},
			"api": {Capacity: 3, InUse: 3, Waiting: 2, Acquired: 3},
		}
		if len(got) != len(want) || got["db"] != want["db"] || got["api"] != want["api"] {
			t.Fatalf("Snapshot() = %+v, want %+v", got, want)
		}
		db.Release()
		db.Release()
		close(hang)
		for range 5 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if got, want := reg.Names(), []string{"api", "db"}; !slices.Equal(got, want) {
			t.Errorf("Names() = %v, want %v", got, want)
		}
		if reg.Get("cache") != nil {
			t.Error("Get of an unknown name returned a bulkhead")
		}
	})
}

func TestNewRegistryRejectsBadEntries(t *testing.T) {
	tests := []struct {
		name    string
		configs map[string]Config
		want    string
	}{
		{"name differs from key", map[string]Config{"db": {Name: "database", MaxConcurrent: 1}}, `registry entry "db" has Config.Name "database"`},
		{"bad entry", map[string]Config{"api": {MaxConcurrent: 0}}, `bulkhead: registry entry "api": Config.MaxConcurrent is 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRegistry(tt.configs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewRegistry = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	reg, err := NewRegistry(map[string]Config{"db": {Name: "db", MaxConcurrent: 1}})
	if err != nil || reg.Get("db").Name() != "db" {
		t.Fatalf("NewRegistry with Name equal to the key: %v", err)
	}
}
