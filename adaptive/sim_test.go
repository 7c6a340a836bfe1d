package adaptive

import (
	"container/heap"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// The simulation below drives a Limiter with a model server in virtual time.
//
// The server has capacity c: it serves up to c calls at full speed, each
// taking base; with n > c calls in flight, it shares itself among them
// (processor sharing), so each progresses at c/n of full speed and latency
// grows as base·n/c. Calls arrive at random (Poisson) at load times the
// server's throughput, c/base. Each arrival asks the limiter for a place; a
// shed call is dropped.
//
// The simulation is an event loop on one goroutine inside a synctest
// bubble: it sleeps until the next arrival or completion, so the limiter's
// clock reads exactly the simulated time, and the run is deterministic.

type simConfig struct {
	c        int           // the server's true capacity (calls in flight at full speed)
	base     time.Duration // a call's latency at or below capacity
	load     float64       // offered load, as a multiple of the server's throughput
	duration time.Duration // simulated time
	noise    float64       // coefficient of variation of the work per call (0: every call is base)
	seed     uint64
	limiter  *Limiter // nil: no limit at all
	every    time.Duration

	// From slowAt on (if set), a call's latency at or below capacity is
	// slowBase instead of base: the dependency became slower for good.
	slowAt   time.Duration
	slowBase time.Duration
}

type simResult struct {
	limits    []int           // the limit in force, sampled every cfg.every
	inFlight  []int           // calls in flight at the server, sampled likewise
	latencies []latencySample // admitted calls, in completion order
	admitted  int
	shed      int
}

type latencySample struct {
	at  time.Duration // completion time
	rtt time.Duration
}

type job struct {
	finish float64 // the server's cumulative per-call service at which the job is done
	admit  time.Duration
	tok    Token
}

type jobHeap []job

func (h jobHeap) Len() int           { return len(h) }
func (h jobHeap) Less(i, j int) bool { return h[i].finish < h[j].finish }
func (h jobHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *jobHeap) Push(x any)        { *h = append(*h, x.(job)) }
func (h *jobHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// simulate runs the model. It must be called inside a synctest bubble.
func simulate(cfg simConfig) simResult {
	rng := rand.New(rand.NewPCG(cfg.seed, 99))
	ctx := context.Background()
	var res simResult
	var jobs jobHeap
	var served float64 // service delivered to each job in flight so far, in ns
	var now time.Duration
	rate := float64(cfg.c) / float64(cfg.base) * cfg.load // arrivals per ns
	nextArrival := time.Duration(rng.ExpFloat64() / rate)
	nextSample := time.Duration(0)
	speed := func() float64 { // service per ns of each job in flight
		return min(1, float64(cfg.c)/float64(len(jobs)))
	}
	for now < cfg.duration {
		next := min(nextArrival, nextSample)
		if len(jobs) > 0 {
			dt := (jobs[0].finish - served) / speed()
			next = min(next, now+time.Duration(math.Ceil(max(dt, 0))))
		}
		if next > now {
			if len(jobs) > 0 {
				served += float64(next-now) * speed()
			}
			time.Sleep(next - now)
			now = next
		}
		// Completions first, then the sample, then the arrival.
		for len(jobs) > 0 && jobs[0].finish <= served+1e-6 {
			j := heap.Pop(&jobs).(job)
			if j.tok.l != nil {
				j.tok.OnSuccess()
			}
			res.latencies = append(res.latencies, latencySample{at: now, rtt: now - j.admit})
		}
		if now >= nextSample {
			lim := -1
			if cfg.limiter != nil {
				// The limit outside probes, which halve it for a while.
				if s := cfg.limiter.Snapshot(); !s.Probing {
					lim = s.Limit
				} else if len(res.limits) > 0 {
					lim = res.limits[len(res.limits)-1]
				}
			}
			res.limits = append(res.limits, lim)
			res.inFlight = append(res.inFlight, len(jobs))
			nextSample += cfg.every
		}
		if now >= nextArrival {
			nextArrival = now + time.Duration(rng.ExpFloat64()/rate) + 1
			var tok Token
			if cfg.limiter != nil {
				var err error
				if tok, err = cfg.limiter.Acquire(ctx); err != nil {
					res.shed++
					continue
				}
			}
			res.admitted++
			work := float64(cfg.base)
			if cfg.slowAt > 0 && now >= cfg.slowAt {
				work = float64(cfg.slowBase)
			}
			if cfg.noise > 0 {
				// A gamma-like spread: lognormal with the given variation.
				s := math.Sqrt(math.Log(1 + cfg.noise*cfg.noise))
				work *= math.Exp(rng.NormFloat64()*s - s*s/2)
			}
			heap.Push(&jobs, job{finish: served + work, admit: now, tok: tok})
		}
	}
	// Finish the calls still in flight so the limiter is left clean.
	for len(jobs) > 0 {
		j := heap.Pop(&jobs).(job)
		if j.tok.l != nil {
			j.tok.OnIgnore()
		}
	}
	return res
}

// percentile returns the p-th percentile (0..1) of the latencies completed
// in [from, to).
func (r simResult) percentile(p float64, from, to time.Duration) time.Duration {
	var d []time.Duration
	for _, s := range r.latencies {
		if s.at >= from && s.at < to {
			d = append(d, s.rtt)
		}
	}
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(math.Ceil(p*float64(len(d))))-1)]
}

// mean returns the mean of xs.
func mean(xs []int) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0
	for _, x := range xs {
		s += x
	}
	return float64(s) / float64(len(xs))
}
