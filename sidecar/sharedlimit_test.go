package sidecar

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/redistest"
)

// sharedConfig is a route whose rate limit is kept in the Redis at addr;
// extra goes inside its redis block.
func sharedConfig(rate float64, burst int, addr, extra string) string {
	return fmt.Sprintf(`
routes:
  - name: api
    prefix: /
    upstream: %%s
    rate_limit:
      rate: %g
      burst: %d
      redis: {addr: '%s'%s}
`, rate, burst, addr, extra)
}

// TestSharedRateLimitTwoSidecars runs two sidecars whose route limit is
// kept in one Redis: together they admit the shared rate, not twice it.
func TestSharedRateLimitTwoSidecars(t *testing.T) {
	rs := redistest.Start(t)
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {})
	const rate, burst = 10.0, 2
	yaml := sharedConfig(rate, burst, rs.Addr, ", timeout: 1s")
	a, b := newFixture(t, yaml, up), newFixture(t, yaml, up)
	t.Cleanup(a.s.Close)
	t.Cleanup(b.s.Close)

	var admitted, refused [2]int
	start := time.Now()
	const window = 1500 * time.Millisecond
	for i := 0; i < 5000 && time.Since(start) < window; i++ {
		f := []*fixture{a, b}[i%2]
		switch code := f.get(t, "/x").code; code {
		case http.StatusOK:
			admitted[i%2]++
		case http.StatusTooManyRequests:
			refused[i%2]++
		default:
			t.Fatalf("request %d: status %d", i, code)
		}
	}
	elapsed := time.Since(start).Seconds()
	total := admitted[0] + admitted[1]
	// GCRA admits at most burst + rate × elapsed; two limits of their own
	// would admit twice that.
	if hi := burst + int(rate*elapsed) + 1; total > hi {
		t.Errorf("admitted %d (%v) in %.2fs; the shared limit allows at most %d", total, admitted, elapsed, hi)
	}
	if lo := int(rate * elapsed / 2); total < lo || admitted[0] == 0 || admitted[1] == 0 {
		t.Errorf("admitted %v in %.2fs; want at least %d in all, some through each sidecar", admitted, elapsed, lo)
	}
	if refused[0] == 0 || refused[1] == 0 {
		t.Errorf("refused %v: each sidecar should have refused some", refused)
	}
	for _, f := range []*fixture{a, b} {
		snap := f.s.snapshot().Routes[0].RateLimit
		if snap == nil || snap.Redis == nil || snap.Redis.Addr != rs.Addr || snap.Redis.Unavailable != 0 {
			t.Errorf("snapshot %+v, want a Redis limit at %s with no failure", snap, rs.Addr)
		}
	}
}

// TestSharedRateLimitOutageModes freezes the Redis (SIGSTOP): the route's
// rate_limit.redis.outage decides, and no request waits for the frozen
// server past the configured timeout.
func TestSharedRateLimitOutageModes(t *testing.T) {
	tests := []struct {
		outage string
		want   int // of 8 requests, admitted
	}{
		{"open", 8},
		{"closed", 0},
		// rate 0.5 and burst 2 over 2 replicas: a local burst of 1, and
		// the next token 4 s later.
		{"local", 1},
	}
	for _, tt := range tests {
		t.Run(tt.outage, func(t *testing.T) {
			rs := redistest.Start(t)
			up := upstream(t, func(w http.ResponseWriter, r *http.Request) {})
			f := newFixture(t, sharedConfig(0.5, 2, rs.Addr, ", timeout: 50ms, replicas: 2, outage: "+tt.outage), up)
			t.Cleanup(f.s.Close)
			if code := f.get(t, "/x").code; code != http.StatusOK { // Redis up: connected, one token spent
				t.Fatalf("before the freeze: status %d", code)
			}
			rs.Freeze()
			admitted := 0
			for i := range 8 {
				t0 := time.Now()
				code := f.get(t, "/x").code
				// 50ms, with room for a loaded 2-core machine; go-redis's own
				// read timeout would be 3 s.
				if d := time.Since(t0); d > time.Second {
					t.Errorf("request %d took %v with Redis frozen", i, d)
				}
				switch code {
				case http.StatusOK:
					admitted++
				case http.StatusTooManyRequests:
				default:
					t.Fatalf("request %d: status %d", i, code)
				}
			}
			if admitted != tt.want {
				t.Errorf("outage %s: admitted %d of 8 with Redis frozen, want %d", tt.outage, admitted, tt.want)
			}
			snap := f.s.snapshot().Routes[0].RateLimit.Redis
			if snap.Outage != tt.outage || snap.Unavailable != 8 || snap.Breaker != "open" {
				t.Errorf("snapshot %+v, want outage %s, 8 unavailable, the breaker around Redis open", snap, tt.outage)
			}
			if logs := f.logs.String(); !strings.Contains(logs, "redis did not decide") {
				t.Errorf("no Redis failure logged:\n%s", logs)
			}
		})
	}
}

// TestSharedRateLimitReload checks what a reload does with a route's Redis
// client: kept while the settings stay the same (the rate may change),
// closed when they change or the limit goes.
func TestSharedRateLimitReload(t *testing.T) {
	r1, r2 := redistest.Start(t), redistest.Start(t)
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {})
	f := newFixture(t, sharedConfig(100, 100, r1.Addr, ""), up)
	t.Cleanup(f.s.Close)
	client := func() *redisClient { return f.s.gen.Load().routes[0].redis }
	apply := func(yaml string) {
		t.Helper()
		cfg, err := ParseConfig(fmt.Appendf(nil, yaml, up.URL))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.s.Apply(cfg); err != nil {
			t.Fatal(err)
		}
	}
	waitClients := func(rs *redistest.Server, want int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			n := rs.Clients()
			if n == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("redis at %s has %d clients, want %d", rs.Addr, n, want)
			}
		}
	}
	f.get(t, "/x")
	c1 := client()
	waitClients(r1, 1)

	apply(sharedConfig(50, 100, r1.Addr, ", outage: open")) // same Redis, another limit
	if c := client(); c != c1 || c.closed.Load() {
		t.Fatal("a reload with the same Redis settings made a new client")
	}
	if code := f.get(t, "/x").code; code != http.StatusOK {
		t.Fatalf("after a reload keeping the client: status %d", code)
	}
	if snap := f.s.snapshot().Routes[0].RateLimit; snap.Rate != 50 || snap.Redis.Outage != "open" {
		t.Errorf("after the reload the limit is %+v, want rate 50, outage open", snap)
	}

	apply(sharedConfig(50, 100, r2.Addr, ", outage: open")) // another Redis
	c2 := client()
	if c2 == c1 || !c1.closed.Load() {
		t.Fatal("a reload to another Redis kept the old client open")
	}
	f.get(t, "/x")
	waitClients(r1, 0)
	waitClients(r2, 1)

	apply("routes:\n  - {name: api, prefix: /, upstream: '%s'}\n") // no limit
	if client() != nil || !c2.closed.Load() {
		t.Fatal("a reload removing the limit kept its client open")
	}
	waitClients(r2, 0)
}

// TestSharedRateLimitPasswordEnv checks that password_env is read when the
// config is applied: a missing variable fails the apply, naming the key,
// and the running config stays.
func TestSharedRateLimitPasswordEnv(t *testing.T) {
	cfg, err := ParseConfig([]byte(fmt.Sprintf(sharedConfig(1, 1, "127.0.0.1:1", ", password_env: BULWARK_TEST_REDIS_PW"), "http://127.0.0.1:9")))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("BULWARK_TEST_REDIS_PW", "")
	_, err = New(cfg, Options{})
	if want := "routes[0].rate_limit.redis.password_env: environment variable BULWARK_TEST_REDIS_PW is not set or empty"; err == nil || err.Error() != want {
		t.Errorf("New = %v, want %q", err, want)
	}
	t.Setenv("BULWARK_TEST_REDIS_PW", "s3cret")
	s, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.gen.Load().routes[0].redis.conn.password; got != "s3cret" {
		t.Errorf("password %q, want the variable's", got)
	}
}
