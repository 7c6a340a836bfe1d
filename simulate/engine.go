package simulate

import (
	"container/heap"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Target is what the simulated clients call: the policies under test, in
// front of the simulated dependency.
type Target interface {
	// Do makes one client request and says how it ended: an outcome name
	// ("ok", "breaker_open"...) and whether the client got what it asked
	// for. Each attempt that reaches the dependency is a dep.Call (or a
	// round trip of dep.Transport). Do must return once ctx is done.
	Do(ctx context.Context, dep *Dependency) (outcome string, ok bool)
}

// TargetFunc adapts a function to a [Target].
type TargetFunc func(ctx context.Context, dep *Dependency) (string, bool)

// Do calls f.
func (f TargetFunc) Do(ctx context.Context, dep *Dependency) (string, bool) { return f(ctx, dep) }

// Gauge is a value sampled at the end of every bucket of the time series:
// a breaker's state, a bulkhead's calls in flight, a limiter's tokens.
type Gauge struct {
	Name string
	Read func() float64
}

// Options are the parts of a simulation that are not the scenario.
type Options struct {
	// Runtime is the time the simulation runs in. Required.
	Runtime Runtime
	// Gauges are sampled at the end of every bucket.
	Gauges []Gauge
	// Drain is how long requests still in flight when the load stops may
	// take to finish before they are cancelled. Default 10s plus the
	// client's deadline.
	Drain time.Duration
}

// Errors a [Dependency] call returns, and the cause of a client's
// cancellation.
var (
	ErrFailed   = errors.New("simulate: the dependency failed the call")
	ErrRefused  = errors.New("simulate: connection refused")
	ErrDeadline = errors.New("simulate: the client's deadline passed")
	ErrEnd      = errors.New("simulate: the simulation ended")
)

// Sim is one simulation run. Make it with [New], hand its [Sim.Dependency]
// to the policies under test, then call [Sim.Run] once.
type Sim struct {
	sc   Scenario
	opts Options
	rt   Runtime
	dep  *Dependency
	span time.Duration // Duration rounded up to whole buckets

	mu     sync.Mutex
	rng    *rand.Rand // the dependency's and the clients' draws
	arr    *rand.Rand // arrivals alone: every config sees the same requests
	start  time.Time
	events eventHeap
	seq    uint64
	rec    *recorder
	base   context.Context
	wg     sync.WaitGroup
	idle   []chan func() // workers waiting for a request to run, last idle first
	busy   int           // client requests in flight
	ran    bool
}

// New checks sc and returns a simulation of it.
func New(sc Scenario, opts Options) (*Sim, error) {
	if opts.Runtime == nil {
		return nil, errors.New("simulate: Options.Runtime is required")
	}
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	if sc.Bucket == 0 {
		sc.Bucket = time.Second
	}
	if sc.Trace != nil && sc.Duration == 0 {
		for _, r := range sc.Trace {
			sc.Duration = max(sc.Duration, r.At+1)
		}
	}
	if opts.Drain == 0 {
		opts.Drain = 10*time.Second + sc.Client.Deadline
	}
	s := &Sim{sc: sc, opts: opts, rt: opts.Runtime, rng: rand.New(rand.NewPCG(uint64(sc.Seed), 0x62756c7761726b)),
		arr: rand.New(rand.NewPCG(uint64(sc.Seed), 0x617272697665))}
	nb := int((sc.Duration + sc.Bucket - 1) / sc.Bucket)
	s.span = time.Duration(nb) * sc.Bucket
	s.rec = newRecorder(nb, len(opts.Gauges))
	s.dep = &Dependency{s: s}
	return s, nil
}

// Dependency returns the simulated dependency, for the policies under test
// to call.
func (s *Sim) Dependency() *Dependency { return s.dep }

// now is the simulated time since the start.
func (s *Sim) now() time.Duration { return s.rt.Now().Sub(s.start) }

// at schedules fn to run at t, under s.mu. The caller holds s.mu.
func (s *Sim) at(t time.Duration, fn func()) {
	s.seq++
	heap.Push(&s.events, event{at: t, seq: s.seq, fn: fn})
}

// Run offers the scenario's load to t and returns what happened. It runs
// once; it returns early with ctx's error if ctx ends.
func (s *Sim) Run(ctx context.Context, t Target) (*Result, error) {
	s.mu.Lock()
	if s.ran {
		s.mu.Unlock()
		return nil, errors.New("simulate: Run called twice")
	}
	s.ran = true
	s.start = s.rt.Now()
	base, cancel := context.WithCancelCause(context.Background())
	s.base = base
	if s.sc.Trace != nil {
		for i := range s.sc.Trace {
			r := &s.sc.Trace[i]
			s.at(r.At, func() { s.send(t, r, 0) })
		}
	} else if first := s.nextArrival(-1); first >= 0 {
		s.at(first, func() { s.arrive(t, first) })
	}
	var ps time.Duration
	for i, p := range s.sc.Dependency {
		if p.For == 0 || i == len(s.sc.Dependency)-1 {
			break
		}
		ps += p.For
		s.at(ps, s.dep.pump)
	}
	for b := 1; b <= len(s.rec.rows); b++ {
		s.at(time.Duration(b)*s.sc.Bucket-1, func() { s.sample(b - 1) })
	}
	end := s.span + s.opts.Drain
	s.mu.Unlock()

	var err error
	for {
		if err = ctx.Err(); err != nil {
			break
		}
		s.mu.Lock()
		if len(s.events) == 0 && s.busy > 0 && s.now() < end {
			// Requests in flight wait on the policies' own timers (a
			// retry's backoff), which are not events: look again a bucket
			// on, until they finish or the drain ends.
			s.at(min(s.now()+s.sc.Bucket, end), func() {})
		}
		if len(s.events) == 0 || s.events[0].at > end {
			s.mu.Unlock()
			break
		}
		ev := heap.Pop(&s.events).(event)
		s.mu.Unlock()
		if d := ev.at - s.now(); d > 0 {
			s.rt.Sleep(d)
		}
		s.mu.Lock()
		ev.fn()
		s.mu.Unlock()
		s.rt.Settle()
	}
	cancel(ErrEnd)
	s.wg.Wait()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec.result(&s.sc, s.opts.Gauges), nil
}

// nextArrival returns the arrival after the one at prev (-1: the first);
// -1 when the load has stopped. Poisson arrivals are drawn by thinning a
// Poisson process at the scenario's highest rate.
func (s *Sim) nextArrival(prev time.Duration) time.Duration {
	if s.sc.Arrivals == Even {
		return s.nextEven(prev)
	}
	m := maxRate(s.sc.Load)
	if m <= 0 {
		return -1
	}
	t := float64(max(prev, 0))
	for {
		t += s.arr.ExpFloat64() / m * float64(time.Second)
		if t >= float64(s.sc.Duration) || math.IsInf(t, 0) {
			return -1
		}
		at := time.Duration(t)
		if s.arr.Float64()*m < rateAt(s.sc.Load, at) {
			return at
		}
	}
}

// nextEven returns the even arrival after the one at prev (-1: the first,
// at the start): the time at which the integral of the rate from prev
// reaches one request. A constant segment is integrated exactly, the
// other shapes in steps of a millisecond; a segment of zero rate sends
// nothing.
func (s *Sim) nextEven(prev time.Duration) time.Duration {
	const step = float64(time.Millisecond)
	if prev < 0 {
		if rateAt(s.sc.Load, 0) > 0 {
			return 0
		}
		prev = 0
	}
	end := float64(s.sc.Duration)
	t, need := float64(prev), 1.0 // requests still to integrate
	for t < end {
		at := time.Duration(t)
		r := rateAt(s.sc.Load, at) / float64(time.Second) // per ns
		span := float64(segmentEnd(s.sc.Load, at, s.sc.Duration)) - t
		if l := &s.sc.Load[s.segment(at)]; l.Shape != Constant && l.Shape != "" {
			span = min(span, step)
		}
		span = max(span, 1) // past rounding, always move on
		if r > 0 && need/r <= span {
			t += need / r
			if t >= end {
				return -1
			}
			return time.Duration(math.Round(t))
		}
		need -= r * span
		t += span
	}
	return -1
}

// segment returns the index of the load segment in force at t.
func (s *Sim) segment(t time.Duration) int {
	var start time.Duration
	for i := range s.sc.Load {
		l := &s.sc.Load[i]
		if l.For == 0 || t < start+l.For || i == len(s.sc.Load)-1 {
			return i
		}
		start += l.For
	}
	return len(s.sc.Load) - 1
}

func (s *Sim) arrive(t Target, at time.Duration) {
	if next := s.nextArrival(at); next >= 0 {
		s.at(next, func() { s.arrive(t, next) })
	}
	s.send(t, nil, 0)
}

type traceKey struct{}

// send starts one client request (try 0) or a client's retry of it. The
// caller holds s.mu.
func (s *Sim) send(t Target, rec *TraceRecord, try int) {
	ctx, cancel := context.WithCancelCause(s.base)
	if rec != nil {
		ctx = context.WithValue(ctx, traceKey{}, rec)
	}
	start := s.now()
	b := s.rec.bucket(start, s.sc.Bucket)
	s.rec.rows[b].sends++
	if try == 0 {
		s.rec.requests++
	}
	if dl := s.sc.Client.Deadline; dl > 0 {
		s.at(start+dl, func() { cancel(ErrDeadline) })
	}
	s.busy++
	s.run(func() {
		name, ok := t.Do(ctx, s.dep)
		cancel(nil)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.busy--
		end := s.now()
		s.rec.outcome(b, name, end-start)
		c := s.sc.Client
		switch {
		case ok:
			s.rec.succeeded++
		case try < c.Retries && (c.GiveUp == 0 || s.rng.Float64() >= c.GiveUp) && s.base.Err() == nil && end < s.sc.Duration:
			s.at(end+c.RetryDelay, func() { s.send(t, rec, try+1) })
		}
	})
}

// run runs job on a worker goroutine: the one that went idle last, or a
// new one. Workers are kept because a new goroutine's stack grows through
// the policies' calls on every request, which costs about a tenth of the
// run. The caller holds s.mu.
func (s *Sim) run(job func()) {
	if n := len(s.idle); n > 0 {
		w := s.idle[n-1]
		s.idle = s.idle[:n-1]
		w <- job
		return
	}
	w := make(chan func(), 1)
	s.wg.Add(1)
	go s.work(w, job)
}

// work runs jobs until the simulation ends.
func (s *Sim) work(w chan func(), job func()) {
	defer s.wg.Done()
	done := s.base.Done()
	for {
		job()
		s.mu.Lock()
		s.idle = append(s.idle, w)
		s.mu.Unlock()
		select {
		case job = <-w:
		case <-done:
			select {
			case job = <-w: // handed over as the simulation ended
				job()
			default:
			}
			return
		}
	}
}

func (s *Sim) sample(b int) {
	for i, g := range s.opts.Gauges {
		s.rec.rows[b].gauges[i] = g.Read()
	}
	s.rec.rows[b].phase = phaseAt(s.sc.Dependency, time.Duration(b)*s.sc.Bucket)
}

type event struct {
	at  time.Duration
	seq uint64
	fn  func()
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	return h[i].at < h[j].at || (h[i].at == h[j].at && h[i].seq < h[j].seq)
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = event{}
	*h = old[:len(old)-1]
	return e
}

// SetGauges sets the gauges sampled at the end of every bucket, for
// gauges that can only be made once the policies exist. Call it before Run.
func (s *Sim) SetGauges(gs []Gauge) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Gauges = gs
	for i := range s.rec.rows {
		s.rec.rows[i].gauges = make([]float64, len(gs))
	}
}
