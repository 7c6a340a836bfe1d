package sidecar

import (
	"context"
	"fmt"
	"github.com/bulwark-go/bulwark"
	"math/rand/v2"
	"net/http"
	"sync"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/simulate"
)

// simTarget sends each simulated client request through the server's
// handler (the same data path as a proxied request: rate limit, bulkhead,
// retry, breaker, timeout, the upstream transport), as a GET of path (or
// the method set by [WithSimulatedMethod]). The outcome is the proxy's own (X-Bulwark-Reason), or "ok" and
// "upstream_error" for the upstream's answers.
func (s *Server) simTarget(path string) simulate.Target {
	h := s.Handler()
	tmpl, _ := http.NewRequest(http.MethodGet, "http://simulated"+path, http.NoBody)
	tmpl.RemoteAddr = "192.0.2.1:1234"
	return simulate.TargetFunc(func(ctx context.Context, _ *simulate.Dependency) (string, bool) {
		req := tmpl.Clone(ctx) // the same request as NewRequest makes, without parsing the URL again
		if m, ok := ctx.Value(simMethodKey{}).(string); ok {
			req.Method = m
		}
		w := &simWriter{header: http.Header{}}
		h.ServeHTTP(w, req)
		if reason := w.header.Get(HeaderReason); reason != "" {
			return reason, false
		}
		switch {
		case w.code == 499 || ctx.Err() != nil:
			return outcomeClientGone.String(), false
		case w.code >= 500:
			return outcomeUpstreamError.String(), false
		}
		return outcomeOK.String(), true
	})
}

// simWriter is the ResponseWriter of a simulated request: it keeps the
// status and headers and drops the body.
type simWriter struct {
	header http.Header
	code   int
}

func (w *simWriter) Header() http.Header { return w.header }
func (w *simWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(b), nil
}
func (w *simWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

// simGauges are the gauges of every route of the running config: its
// breaker's state (0 closed, 1 half-open, 2 open), its bulkhead's and its
// rate limiter's saturation (the share of slots in use, of the burst
// spent).
func (s *Server) simGauges() []simulate.Gauge {
	var gs []simulate.Gauge
	for _, r := range s.gen.Load().routes {
		name := r.cfg.Name
		if r.breaker != nil {
			br := r.breaker.br
			gs = append(gs, simulate.Gauge{Name: name + " breaker", Read: func() float64 {
				switch br.State() {
				case breaker.StateOpen:
					return 2
				case breaker.StateHalfOpen:
					return 1
				}
				return 0
			}})
		}
		if bh := r.bulkhead; bh != nil {
			gs = append(gs, simulate.Gauge{Name: name + " bulkhead", Read: func() float64 {
				sn := bh.Snapshot()
				return float64(sn.InUse) / float64(max(sn.Capacity, 1))
			}})
		}
		if l := r.limiter; l != nil {
			gs = append(gs, simulate.Gauge{Name: name + " rate_limit", Read: func() float64 {
				sn := l.Snapshot()
				return 1 - max(sn.Tokens, 0)/float64(max(sn.Burst, 1))
			}})
		}
	}
	return gs
}

// simPath is a path that the route named route matches.
func simPath(cfg *Config, route string) (string, bool) {
	for i, r := range cfg.Routes {
		if r.Name == route || (route == "" && i == 0) {
			return r.Prefix, true
		}
	}
	return "", false
}

// simulation makes one run of scenario sf against cfg, which it owns
// (it seeds the route's randomness from the scenario's seed): the
// simulation, with the gauges of every route, and its target.
func simulation(cfg *Config, sf *ScenarioFile, rt simulate.Runtime) (*simulate.Sim, simulate.Target, error) {
	// The policies read rt when it is a clock (the command's virtual
	// clock); a synctest bubble's runtime is the real clock of the bubble.
	clock, _ := rt.(bulwark.Clock)
	path, ok := simPath(cfg, sf.Route)
	if !ok {
		return nil, nil, fmt.Errorf("route %q: no such route in the config (line %d of the scenario)", sf.Route, sf.lines["route"])
	}
	for i := range cfg.Routes {
		r := &cfg.Routes[i]
		r.clock = clock
		if r.Retry != nil {
			r.Retry.rand = &lockedSource{src: rand.NewPCG(uint64(sf.Seed), uint64(i)+1)}
			r.Retry.clock = clock
		}
		if r.Breaker != nil {
			r.Breaker.clock = clock
			// The breaker draws under its own lock: no lockedSource. A
			// stream apart from the retry's (i+1).
			r.Breaker.rand = rand.NewPCG(uint64(sf.Seed), ^uint64(i))
		}
		if r.RateLimit != nil {
			// One simulated sidecar is the whole fleet: a limit shared
			// through Redis is simulated as this process's own, at the
			// fleet's rate (no Redis is asked, on no real clock).
			r.RateLimit.Redis = nil
		}
		if r.Chaos != nil && r.Chaos.Seed == 0 {
			r.Chaos.Seed = sf.Seed*31 + int64(i) + 1
		}
	}
	sim, err := simulate.New(sf.Scenario(), simulate.Options{Runtime: rt})
	if err != nil {
		return nil, nil, err
	}
	srv, err := New(cfg, Options{Transport: sim.Dependency().Transport()})
	if err != nil {
		return nil, nil, err
	}
	sim.SetGauges(srv.simGauges())
	return sim, srv.simTarget(path), nil
}

// lockedSource makes a rand.Source safe for the concurrent use of a
// policy.
type lockedSource struct {
	mu  sync.Mutex
	src rand.Source
}

func (s *lockedSource) Uint64() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.src.Uint64()
}
