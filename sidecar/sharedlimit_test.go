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
//
// Its bounds hold whatever the speed of the requests, which a loaded
// machine (or -race) may slow to a few in the whole window, or stall for
// most of it: GCRA admits at most burst + rate × elapsed, and refuses a
// request only within one emission interval (1/rate) after an admission
// (its theoretical arrival time is at most the last admission's time plus
// burst/rate, and it refuses while that is more than (burst-1)/rate ahead;
// a refusal the sidecar remembers lasts no longer). So it checks each
// refusal against the admissions actually made and their times, rather
// than a rate over the window, which a slow test does not reach.
func TestSharedRateLimitTwoSidecars(t *testing.T) {
	rs := redistest.Start(t)
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {})
	const rate, burst = 10.0, 2
	const interval = time.Duration(float64(time.Second) / rate)
	// A loaded machine may take more than a second to connect and load the
	// script: 5s, so that no call is left to the outage mode.
	yaml := sharedConfig(rate, burst, rs.Addr, ", timeout: 5s")
	a, b := newFixture(t, yaml, up), newFixture(t, yaml, up)
	t.Cleanup(a.s.Close)
	t.Cleanup(b.s.Close)

	type request struct {
		sidecar    int
		start, end time.Duration // since the test's start
		admitted   bool
	}
	var reqs []request
	var admitted, refused [2]int
	var longest time.Duration
	start := time.Now()
	const window = 1500 * time.Millisecond
	for i := 0; i < 5000 && time.Since(start) < window; i++ {
		f := []*fixture{a, b}[i%2]
		r := request{sidecar: i % 2, start: time.Since(start)}
		code := f.get(t, "/x").code
		r.end = time.Since(start)
		longest = max(longest, r.end-r.start)
		switch code {
		case http.StatusOK:
			admitted[i%2]++
			r.admitted = true
		case http.StatusTooManyRequests:
			refused[i%2]++
		default:
			t.Fatalf("request %d: status %d", i, code)
		}
		reqs = append(reqs, r)
	}
	elapsed := time.Since(start).Seconds()
	total := admitted[0] + admitted[1]
	// Two limits of their own would admit twice as many.
	hi := burst + int(rate*elapsed) + 1
	if total > hi {
		t.Errorf("admitted %d (%v) in %.2fs; the shared limit allows at most %d", total, admitted, elapsed, hi)
	}
	// The first request through each sidecar finds a token: the burst is 2.
	if admitted[0] == 0 || admitted[1] == 0 {
		t.Errorf("admitted %v in %d requests; want some through each sidecar", admitted, len(reqs))
	}
	// Each refusal was decided between its request's start and end, and
	// needs an admission decided less than an interval before that: by an
	// earlier request (they are made one at a time) that ended after the
	// refused one's start minus the interval (and 5ms for Redis's clock
	// against ours).
	unexplained := 0
	lastAdmitted := time.Duration(-1) // the end of the last admitted request
	for i, r := range reqs {
		if r.admitted {
			lastAdmitted = r.end
			continue
		}
		if lastAdmitted < 0 || lastAdmitted+interval+5*time.Millisecond <= r.start {
			if unexplained++; unexplained <= 5 {
				t.Errorf("request %d through sidecar %d, from %v to %v, refused with no admission in the %v before it (the last ended at %v)",
					i, r.sidecar, r.start, r.end, interval, lastAdmitted)
			}
		}
	}
	if unexplained > 0 || testing.Verbose() {
		t.Logf("%d requests in %.2fs, the longest %v: admitted %v, refused %v; %d refusals with no admission in the interval before",
			len(reqs), elapsed, longest, admitted, refused, unexplained)
	}
	// A sidecar asked more often than the limit allows in all must refuse.
	for i, n := range [2]int{admitted[0] + refused[0], admitted[1] + refused[1]} {
		if n > hi && refused[i] == 0 {
			t.Errorf("sidecar %d admitted all of %d requests in %.2fs; the shared limit allows %d", i, n, elapsed, hi)
		}
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
			up := upstream(t, func(w http.ResponseWriter, r *http.Request) {})
			// Redis up: connected, one token spent. On a loaded machine the
			// first call (connect, load the script) can take longer than
			// the 50 ms timeout, and the outage mode decides it: start
			// again with a fresh Redis and sidecar, up to three times.
			var rs *redistest.Server
			var f *fixture
			for try := 1; ; try++ {
				rs = redistest.Start(t)
				f = newFixture(t, sharedConfig(0.5, 2, rs.Addr, ", timeout: 50ms, replicas: 2, outage: "+tt.outage), up)
				t.Cleanup(f.s.Close)
				code := f.get(t, "/x").code
				if code == http.StatusOK && f.s.snapshot().Routes[0].RateLimit.Redis.Unavailable == 0 {
					break
				}
				if try == 3 {
					t.Fatalf("before the freeze: status %d, Redis unavailable %d times, in 3 tries", code, f.s.snapshot().Routes[0].RateLimit.Redis.Unavailable)
				}
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
