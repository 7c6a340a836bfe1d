package bulwarkredis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/redis/go-redis/v9"
)

// Item 12: a tenant's limit and a global one in one round trip, all or
// nothing: a refusal by one spends nothing under the other.
func TestLimiterAllowAll(t *testing.T) {
	c, rt := countedClient(t)
	prefix := testPrefix(t, c)
	lim, err := NewLimiter(c, LimiterConfig{Rate: 0.001, Burst: 3, Prefix: prefix, Timeout: liveTimeout}) // global: 3
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := multiScript.Load(ctx, c).Err(); err != nil { // else the first call is EVALSHA, then EVAL
		t.Fatal(err)
	}
	tenant := Limit{Rate: 0.001, Burst: 2}
	call := func(name string) []ratelimit.Decision {
		t.Helper()
		ds, err := lim.AllowAll(ctx, Request{Key: "tenant:" + name, Limit: tenant}, Request{Key: "global"})
		if err != nil || len(ds) != 2 {
			t.Fatalf("AllowAll: %v, %v", ds, err)
		}
		return ds
	}
	var got []string
	for _, name := range []string{"a", "a", "a", "b", "b"} {
		before := rt.n.Load()
		ds := call(name)
		got = append(got, fmt.Sprintf("%s:%v/%d/%d", name, ds[0].Allowed, ds[0].Remaining, ds[1].Remaining))
		if n := rt.n.Load() - before; n > 1 {
			t.Errorf("AllowAll made %d round trips", n)
		}
	}
	// a, a admitted; a refused by its tenant limit (the global one keeps
	// its token); b admitted (the global's last); b refused by the global.
	want := "[a:true/1/2 a:true/0/1 a:false/0/1 b:true/1/0 b:false/1/0]"
	if fmt.Sprint(got) != want {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	ds := call("c")
	if ds[0].Allowed || ds[1].RetryAfter < 900*time.Second || ds[0].RetryAfter != 0 {
		t.Errorf("refused by the global limit: %+v; want its RetryAfter on the global's decision only", ds)
	}
	if _, err := lim.AllowAll(ctx, Request{Key: "x", N: -1}); err == nil || !strings.Contains(err.Error(), "request 0") {
		t.Errorf("negative N: %v", err)
	}
}

// AllowAll during an outage: all or nothing locally, and the mode decides.
func TestLimiterAllowAllOutage(t *testing.T) {
	for _, mode := range []Outage{OutageLocal, OutageOpen, OutageClosed} {
		t.Run(mode.String(), func(t *testing.T) {
			lim, err := NewLimiter(clientTo(t, unreachableAddr), LimiterConfig{Rate: 0.001, Burst: 3, Outage: mode, Timeout: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			var got []bool
			for range 4 {
				ds, err := lim.AllowAll(context.Background(), Request{Key: "t", Limit: Limit{Rate: 0.001, Burst: 2}}, Request{Key: "g"})
				if !errors.Is(err, ErrUnavailable) {
					t.Fatalf("AllowAll: %v", err)
				}
				got = append(got, ds[0].Allowed && ds[1].Allowed)
			}
			want := map[Outage]string{OutageLocal: "[true true false false]", OutageOpen: "[true true true true]", OutageClosed: "[false false false false]"}[mode]
			if fmt.Sprint(got) != want {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestSameTag(t *testing.T) {
	for _, tt := range []struct {
		keys []string
		ok   bool
	}{
		{[]string{"bulwark:{api}:a", "bulwark:{api}:b"}, true},
		{[]string{"{t}x", "y{t}"}, true},
		{[]string{"bulwark:api:a", "bulwark:api:b"}, false},
		{[]string{"{a}x", "{b}x"}, false},
		{[]string{"{}x", "{}x"}, false},
	} {
		if err := sameTag(tt.keys); (err == nil) != tt.ok {
			t.Errorf("sameTag(%q) = %v", tt.keys, err)
		}
	}
}

// On Redis Cluster, keys one script touches need a common hash tag: the
// mistake is refused before any round trip.
func TestClusterHashTags(t *testing.T) {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{unreachableAddr}})
	t.Cleanup(func() { _ = cc.Close() })
	lim, err := NewLimiter(cc, LimiterConfig{Rate: 1, Burst: 2, Prefix: "bulwark:api:"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lim.AllowAll(context.Background(), Request{Key: "tenant:a"}, Request{Key: "global"}); err == nil || !strings.Contains(err.Error(), "hash tag") {
		t.Errorf("AllowAll on a cluster client without a hash tag: %v", err)
	}
	b, err := breaker.New(breaker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SyncBreaker(context.Background(), cc, b, SyncConfig{Key: "bulwark:breaker:payments", Quorum: 2}); err == nil || !strings.Contains(err.Error(), "hash tag") {
		t.Errorf("SyncBreaker with a Quorum on a cluster client without a hash tag: %v", err)
	}
}
