package faultsuite

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Outcome is what a caller got from one call.
type Outcome int

// The outcomes of a call.
const (
	Succeeded    Outcome = iota // a 2xx answer from the dependency
	Fallback                    // bulwark refused the call without reaching the dependency; the fallback answered
	FailedFast                  // an error or a failure status within FastFailure
	FailedSlowly                // an error or a failure status after FastFailure or more
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"succeeded", "fallback", "failed fast", "failed slowly"}

func (o Outcome) String() string {
	if o >= 0 && o < numOutcomes {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// FastFailure is the line between failing fast and failing slowly.
const FastFailure = 100 * time.Millisecond

// DefaultDeadline is each client request's deadline.
const DefaultDeadline = time.Second

// Options configure Run.
type Options struct {
	// Scale multiplies every phase's duration and the breaker's waits:
	// 1 is the full-length run that writes the docs; CI uses about 0.1.
	// Default 1.
	Scale float64
	// Deadline is each client request's deadline. Default
	// DefaultDeadline.
	Deadline time.Duration
}

// Call is one client request and what its caller got.
type Call struct {
	At      time.Duration // when it was sent, from the scenario's start
	Took    time.Duration // until the caller had its answer or error
	Outcome Outcome
	Method  string
	ID      string
	Err     string // the error, for a failure
}

// ModeResult is what one mode's clients met during a scenario.
type ModeResult struct {
	Mode  Mode
	Calls []Call
	// Sent counts the calls started; Lost those that got neither an
	// answer nor an error by their deadline plus a second.
	Sent, Lost int
	// Reached counts the requests the dependency read plus the connections
	// it refused while dead; ReachedDown those during Down phases.
	Reached, ReachedDown int
	// MaxSends is the most times one client request reached the
	// dependency; MaxSendsUnsafe the same for non-idempotent requests
	// (POST). Over lists client requests that reached it more than
	// MaxAttempts times.
	MaxSends, MaxSendsUnsafe int
	Over                     []string
	// Hits counts the requests reaching the dependency per bucket.
	Hits []int
	// Recovery is the time from the start of the last phase (the
	// dependency healthy again) to the end of the first bucket in which at
	// least 90 % of calls succeeded; -1 if none did.
	Recovery time.Duration
}

// Result is a scenario's run in every mode.
type Result struct {
	Scenario Scenario
	Scale    float64
	Deadline time.Duration
	Bucket   time.Duration
	Duration time.Duration
	Modes    []ModeResult
	// Goroutines and heap in use (after a GC) before the run and after
	// everything it started was closed.
	GoroutinesStart, GoroutinesEnd int
	HeapStart, HeapEnd             uint64
	// Lag is the longest a 10 ms timer of the runner fired late during the
	// run: how starved of CPU the process was, which every latency
	// includes.
	Lag  time.Duration
	lags []lagSample // the late ticks, in order
}

// lagSample is a tick of the runner's 10 ms timer that fired late.
type lagSample struct{ at, late time.Duration }

// lagDuring returns the most a tick fired late between from and to (from
// the scenario's start).
func (r *Result) lagDuring(from, to time.Duration) time.Duration {
	var worst time.Duration
	for _, l := range r.lags {
		if l.at >= from && l.at <= to+10*time.Millisecond {
			worst = max(worst, l.late)
		}
	}
	return worst
}

// bucketWidth is the width of the time buckets of the charts and of the
// recovery measurement.
func bucketWidth(scale float64) time.Duration {
	return max(scaled(250*time.Millisecond, scale), 50*time.Millisecond)
}

// schedule returns the send times of the scenario's requests, evenly
// spaced at each phase's rate.
func schedule(sc Scenario, scale float64) []time.Duration {
	var out []time.Duration
	var start time.Duration
	for _, p := range sc.Phases {
		d := scaled(p.Duration, scale)
		load := p.Load
		if load == 0 {
			load = 1
		}
		n := int(math.Round(d.Seconds() * sc.Rate * load))
		for i := range n {
			out = append(out, start+time.Duration(int64(d)*int64(i)/int64(n)))
		}
		start += d
	}
	return out
}

// phaseAt returns the index of the phase running at t.
func phaseStarts(sc Scenario, scale float64) []time.Duration {
	starts := make([]time.Duration, len(sc.Phases)+1)
	for i, p := range sc.Phases {
		starts[i+1] = starts[i] + scaled(p.Duration, scale)
	}
	return starts
}

// Run plays the scenario against three upstreams at once, one per mode,
// with the same faults at the same moments, and returns what each mode's
// clients met. It stops early, with an error, when ctx is done.
func Run(ctx context.Context, sc Scenario, opts Options) (*Result, error) {
	if opts.Scale <= 0 {
		opts.Scale = 1
	}
	if opts.Deadline <= 0 {
		opts.Deadline = DefaultDeadline
	}
	res := &Result{Scenario: sc, Scale: opts.Scale, Deadline: opts.Deadline, Bucket: bucketWidth(opts.Scale), Duration: sc.duration(opts.Scale)}
	res.GoroutinesStart, res.HeapStart = settle(0)

	buckets := int((res.Duration + res.Bucket - 1) / res.Bucket)
	type lane struct {
		up  *upstream
		ref *refusals
		cl  *client
	}
	lanes := make([]lane, numModes)
	defer func() {
		for _, l := range lanes {
			if l.cl != nil {
				l.cl.close()
			}
			if l.up != nil {
				l.up.close()
			}
		}
	}()
	for m := range numModes {
		up, err := newUpstream(sc.Capacity, len(sc.Phases), res.Bucket, buckets)
		if err != nil {
			return nil, err
		}
		lanes[m].up = up
		lanes[m].ref = &refusals{up: up}
		cl, err := newClient(m, up.addr, lanes[m].ref, opts.Scale)
		if err != nil {
			return nil, err
		}
		lanes[m].cl = cl
	}
	for _, l := range lanes {
		if err := l.up.set(0, sc.Phases[0].Fault); err != nil {
			return nil, err
		}
	}

	sends := schedule(sc, opts.Scale)
	starts := phaseStarts(sc, opts.Scale)
	calls := make([][]Call, numModes)
	for m := range calls {
		calls[m] = make([]Call, len(sends))
	}
	t0 := time.Now()
	for _, l := range lanes {
		l.up.begin(t0)
	}
	var wg sync.WaitGroup
	lag := make(chan []lagSample, 1)
	stopLag := make(chan struct{})
	go func() { lag <- measureLag(t0, stopLag) }()
	// The phase driver.
	phaseErr := make(chan error, 1)
	wg.Go(func() {
		for i := 1; i < len(sc.Phases); i++ {
			if !sleepUntil(ctx, t0.Add(starts[i])) {
				phaseErr <- ctx.Err()
				return
			}
			for _, l := range lanes {
				if err := l.up.set(i, sc.Phases[i].Fault); err != nil {
					phaseErr <- err
					return
				}
			}
		}
	})
	// One load generator per mode; each call in a goroutine of its own,
	// bounded by the schedule and by its deadline.
	var inflight sync.WaitGroup
	var mu sync.Mutex // guards calls
	sent := make([]int, numModes)
	for m := range numModes {
		wg.Go(func() {
			for i, at := range sends {
				if !sleepUntil(ctx, t0.Add(at)) {
					return
				}
				sent[m]++
				method := http.MethodGet
				if i%10 == 9 {
					method = http.MethodPost // never safe to send twice
				}
				id := fmt.Sprintf("%d-%d", m, i)
				c := Call{At: time.Since(t0), Method: method, ID: id, Outcome: -1}
				mu.Lock()
				calls[m][i] = c
				mu.Unlock()
				inflight.Go(func() {
					cctx, cancel := context.WithTimeout(context.Background(), opts.Deadline)
					defer cancel()
					start := time.Now()
					body, err := lanes[m].cl.do(cctx, method, id)
					c.Took = time.Since(start)
					switch {
					case err == nil && body == fallbackValue:
						c.Outcome = Fallback
					case err == nil:
						c.Outcome = Succeeded
					case c.Took < FastFailure:
						c.Outcome, c.Err = FailedFast, err.Error()
					default:
						c.Outcome, c.Err = FailedSlowly, err.Error()
					}
					mu.Lock()
					calls[m][i] = c
					mu.Unlock()
				})
			}
		})
	}
	wg.Wait()
	select {
	case err := <-phaseErr:
		return nil, err
	default:
	}
	done := make(chan struct{})
	go func() { inflight.Wait(); close(done) }()
	lost := false
	select {
	case <-done:
	case <-time.After(opts.Deadline + time.Second):
		lost = true
	}
	close(stopLag)
	res.lags = <-lag
	for _, l := range res.lags {
		res.Lag = max(res.Lag, l.late)
	}

	mu.Lock()
	defer mu.Unlock()
	for m := range numModes {
		mr := ModeResult{Mode: m, Sent: sent[m], Recovery: -1}
		l := lanes[m]
		for _, c := range calls[m][:sent[m]] {
			if lost && c.Outcome < 0 {
				mr.Lost++
				continue
			}
			mr.Calls = append(mr.Calls, c)
		}
		perPhase := l.up.perPhase()
		for i, n := range perPhase {
			mr.Reached += n
			if sc.Phases[i].Down {
				mr.ReachedDown += n
			}
		}
		refused := int(l.ref.n.Load())
		mr.Reached += refused
		mr.ReachedDown += refused // a dead upstream is always down
		methods := map[string]string{}
		for _, c := range mr.Calls {
			methods[c.ID] = c.Method
		}
		for id, n := range l.up.counts() {
			mr.MaxSends = max(mr.MaxSends, n)
			if methods[id] == http.MethodPost {
				mr.MaxSendsUnsafe = max(mr.MaxSendsUnsafe, n)
			}
			if n > MaxAttempts {
				mr.Over = append(mr.Over, fmt.Sprintf("%s×%d", id, n))
			}
		}
		slices.Sort(mr.Over)
		mr.Hits = make([]int, buckets)
		for i := range mr.Hits {
			mr.Hits[i] = int(l.up.hits[i].Load())
		}
		mr.Recovery = recovery(mr.Calls, starts[len(sc.Phases)-1], res.Bucket, res.Duration)
		res.Modes = append(res.Modes, mr)
	}
	if lost {
		return res, errors.New("faultsuite: calls still running a second after their deadline")
	}
	for _, l := range lanes {
		l.cl.close()
		l.up.close()
	}
	lanes = nil
	res.GoroutinesEnd, res.HeapEnd = settle(res.GoroutinesStart)
	return res, nil
}

// recovery returns the time from from to the end of the first bucket
// after it in which at least 90 % of the calls sent succeeded, or -1.
func recovery(calls []Call, from, bucket, end time.Duration) time.Duration {
	for b := from; b+bucket <= end; b += bucket {
		n, ok := 0, 0
		for _, c := range calls {
			if c.At >= b && c.At < b+bucket {
				n++
				if c.Outcome == Succeeded {
					ok++
				}
			}
		}
		if n > 0 && ok*10 >= n*9 {
			return b + bucket - from
		}
	}
	return -1
}

// measureLag records the ticks of a 10 ms timer that fire more than 1 ms
// late, until stop is closed.
func measureLag(t0 time.Time, stop <-chan struct{}) []lagSample {
	var out []lagSample
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-stop:
			return out
		case now := <-t.C:
			// A tick's time is when it was due; the receive is when the
			// runner got to run.
			if late := time.Since(last) - 10*time.Millisecond; late > time.Millisecond {
				out = append(out, lagSample{at: time.Since(t0), late: late})
			}
			last = now
		}
	}
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// settle waits up to 5 s for the goroutine count to fall to want (no wait
// when want is 0), then returns it and the heap in use after a GC.
func settle(want int) (int, uint64) {
	deadline := time.Now().Add(5 * time.Second)
	for want > 0 && runtime.NumGoroutine() > want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}
