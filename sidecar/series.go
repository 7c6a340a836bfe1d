package sidecar

import (
	"context"
	"math"
	"sync"
	"time"
)

// The history the admin API keeps for the dashboard.
const (
	// historyLength is how many points the history keeps: one a second,
	// the last five minutes.
	historyLength = 300
	// historyInterval is the time between points.
	historyInterval = time.Second
	// latencyWindow is how many intervals a point's latency quantiles
	// cover.
	latencyWindow = 5
)

// historyPoint is one second of every route, as GET /admin/history and
// the event stream report it.
type historyPoint struct {
	At     time.Time    `json:"at"`
	Routes []routePoint `json:"routes"`
}

// routePoint is one route at one point: its answers per second since the
// previous point (requests per second, by outcome), its breaker's state,
// and its latency quantiles over the last five seconds in milliseconds
// (absent when no request finished then).
type routePoint struct {
	Name          string             `json:"name"`
	State         string             `json:"state,omitempty"` // the breaker's; absent without a breaker
	PerSecond     map[string]float64 `json:"per_second"`      // outcome name -> answers per second
	P50Ms         *float64           `json:"p50_ms,omitempty"`
	P99Ms         *float64           `json:"p99_ms,omitempty"`
	UpstreamP50Ms *float64           `json:"upstream_p50_ms,omitempty"`
	UpstreamP99Ms *float64           `json:"upstream_p99_ms,omitempty"`
}

// series samples the routes once a second into a ring of historyLength
// points. Samples are taken by Serve's loop, and by the event streams
// when Serve does not run (AdminHandler used on its own).
type series struct {
	mu     sync.Mutex
	points []historyPoint // ring
	next   int
	lastAt time.Time
	prev   map[string]*routeSeries // by route name
}

// routeSeries is what a route's next point is computed from.
type routeSeries struct {
	stats    *routeStats
	outcomes [numOutcomes]uint64
	latency  [latencyWindow + 1]latencyCounts // ring of the last copies
	upstream [latencyWindow + 1]latencyCounts
	n        int // copies taken
}

// sampleIfDue adds a point if the last one is at least most of an
// interval old, and returns the newest point.
func (s *Server) sampleIfDue(now time.Time) (historyPoint, bool) {
	sr := &s.series
	sr.mu.Lock()
	defer sr.mu.Unlock()
	if !sr.lastAt.IsZero() && now.Sub(sr.lastAt) < historyInterval*9/10 {
		return sr.newestLocked()
	}
	dt := now.Sub(sr.lastAt).Seconds()
	first := sr.lastAt.IsZero()
	sr.lastAt = now
	if sr.prev == nil {
		sr.prev = map[string]*routeSeries{}
	}
	g := s.gen.Load()
	p := historyPoint{At: now, Routes: make([]routePoint, 0, len(g.routes))}
	seen := make(map[string]bool, len(g.routes))
	for _, r := range g.routes {
		name := r.cfg.Name
		seen[name] = true
		rs := sr.prev[name]
		if rs == nil || rs.stats != r.stats {
			rs = &routeSeries{stats: r.stats}
			for o := range rs.outcomes {
				rs.outcomes[o] = r.stats.outcomes[o].Load()
			}
			sr.prev[name] = rs
		}
		rp := routePoint{Name: name, PerSecond: make(map[string]float64, numOutcomes)}
		for o := range outcome(numOutcomes) {
			cur := r.stats.outcomes[o].Load()
			if !first && dt > 0 {
				rp.PerSecond[o.String()] = math.Round(float64(cur-rs.outcomes[o])/dt*10) / 10
			} else {
				rp.PerSecond[o.String()] = 0
			}
			rs.outcomes[o] = cur
		}
		if r.breaker != nil {
			rp.State = r.breaker.br.State().String()
		}
		lat, up := r.stats.latency.load(), r.stats.upstream.load()
		k := rs.n % (latencyWindow + 1)
		rs.latency[k], rs.upstream[k] = lat, up
		oldest := 0
		if rs.n >= latencyWindow {
			oldest = (rs.n - latencyWindow) % (latencyWindow + 1)
		}
		rs.n++
		wl, wu := lat.sub(rs.latency[oldest]), up.sub(rs.upstream[oldest])
		if rs.n == 1 {
			wl, wu = latencyCounts{}, latencyCounts{} // no window yet
		}
		rp.P50Ms, rp.P99Ms = millis(wl.quantile(0.5)), millis(wl.quantile(0.99))
		rp.UpstreamP50Ms, rp.UpstreamP99Ms = millis(wu.quantile(0.5)), millis(wu.quantile(0.99))
		p.Routes = append(p.Routes, rp)
	}
	for name := range sr.prev {
		if !seen[name] {
			delete(sr.prev, name)
		}
	}
	if len(sr.points) < historyLength {
		sr.points = append(sr.points, p)
	} else {
		sr.points[sr.next] = p
		sr.next = (sr.next + 1) % historyLength
	}
	return p, true
}

func (sr *series) newestLocked() (historyPoint, bool) {
	if len(sr.points) == 0 {
		return historyPoint{}, false
	}
	if len(sr.points) < historyLength {
		return sr.points[len(sr.points)-1], true
	}
	return sr.points[(sr.next+historyLength-1)%historyLength], true
}

// history returns the points kept, oldest first: up to the last five
// minutes, one a second while the server runs (or an event stream is
// open).
func (s *Server) history() []historyPoint {
	sr := &s.series
	sr.mu.Lock()
	defer sr.mu.Unlock()
	out := make([]historyPoint, 0, len(sr.points))
	if len(sr.points) < historyLength {
		return append(out, sr.points...)
	}
	out = append(out, sr.points[sr.next:]...)
	return append(out, sr.points[:sr.next]...)
}

// sampleLoop samples the routes every second until ctx is done.
func (s *Server) sampleLoop(ctx context.Context) {
	s.sampleIfDue(time.Now())
	t := time.NewTicker(historyInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.sampleIfDue(now)
		}
	}
}

// millis converts seconds to milliseconds rounded to 0.1, nil for NaN.
func millis(sec float64) *float64 {
	if math.IsNaN(sec) {
		return nil
	}
	ms := math.Round(sec*1e4) / 10
	return &ms
}
