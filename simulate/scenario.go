package simulate

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Scenario is what a simulation runs: the offered load, the dependency's
// behaviour over time and how the clients behave. The zero values of its
// fields are documented defaults; [Scenario.Validate] reports what is wrong.
type Scenario struct {
	// Seed makes the run repeatable: the same seed, scenario and target give
	// byte-identical results. Default 0 is a seed like any other.
	Seed int64 `json:"seed" yaml:"seed"`
	// Duration is how long the load is offered. Required unless Trace is
	// set (then it defaults to the trace's length).
	Duration time.Duration `json:"duration" yaml:"duration"`
	// Bucket is the width of one row of the time series. Default 1s.
	Bucket time.Duration `json:"bucket" yaml:"bucket"`
	// Load is the offered load over time, segment after segment; the last
	// segment lasts until Duration. How requests arrive at that rate is
	// Arrivals. Required unless Trace is set.
	Load []Load `json:"load" yaml:"load"`
	// Arrivals is how the requests are spread in time: [Poisson] (default)
	// or [Even].
	Arrivals Arrivals `json:"arrivals,omitempty" yaml:"arrivals"`
	// Dependency is the dependency's behaviour in phases, one after the
	// other; past the last phase the dependency behaves as in it. At least
	// one phase is required unless Trace is set.
	Dependency []Phase `json:"dependency" yaml:"dependency"`
	// Client is how the callers behave.
	Client Client `json:"client" yaml:"client"`
	// Trace, if set, replaces Load and Dependency: the requests arrive at
	// the trace's timestamps and the dependency answers each first attempt
	// as recorded (later attempts of the same request too).
	Trace []TraceRecord `json:"-" yaml:"-"`
}

// Arrivals names how requests arrive at the offered rate.
type Arrivals string

// The arrival processes.
const (
	// Poisson arrivals: independent clients; the gaps between requests are
	// drawn (exponentially distributed) from the scenario's seed.
	Poisson Arrivals = "poisson"
	// Even arrivals: one request every 1/rate, the first at the start — a
	// load generator's fixed schedule, like the fault scenarios' (`bulwark
	// scenarios`). The n-th request is sent when the integral of the rate
	// reaches n, so a constant segment of d at r req/s sends d·r requests.
	Even Arrivals = "even"
)

// LoadShape names how a [Load] segment's rate changes over its span.
type LoadShape string

// The load shapes.
const (
	Constant LoadShape = "constant" // Rate throughout
	Ramp     LoadShape = "ramp"     // from Rate to To, linearly
	Burst    LoadShape = "burst"    // Rate, and To for BurstFor at the start of every Every
	Diurnal  LoadShape = "diurnal"  // a sine between Rate (trough) and To (peak) with period Every
)

// Load is one segment of offered load.
type Load struct {
	// For is the segment's length. Zero: until the end of the scenario
	// (only the last segment may leave it zero).
	For time.Duration `json:"for" yaml:"for"`
	// Shape is how the rate changes. Default [Constant].
	Shape LoadShape `json:"shape" yaml:"shape"`
	// Rate is the requests per second (the start of a ramp, the base of a
	// burst, the trough of a diurnal curve). At least 0.
	Rate float64 `json:"rate" yaml:"rate"`
	// To is the end of a ramp, the rate during a burst, the peak of a
	// diurnal curve.
	To float64 `json:"to" yaml:"to"`
	// Every is a burst's period and a diurnal curve's. Required for both.
	Every time.Duration `json:"every" yaml:"every"`
	// BurstFor is how long each burst lasts. Required for bursts, less
	// than Every.
	BurstFor time.Duration `json:"burst_for" yaml:"burst_for"`
}

// Phase is one stretch of the dependency's behaviour.
type Phase struct {
	// Name labels the phase in reports ("healthy", "outage"...).
	Name string `json:"name" yaml:"name"`
	// For is the phase's length. Zero: until the end (only the last phase).
	For time.Duration `json:"for" yaml:"for"`
	// Latency is how long a served call takes, before any queueing.
	Latency Latency `json:"latency" yaml:"latency"`
	// ErrorRate is the share of served calls that fail, in [0,1].
	ErrorRate float64 `json:"error_rate" yaml:"error_rate"`
	// Hang makes the dependency accept calls and never answer: a call ends
	// only when its caller gives up.
	Hang bool `json:"hang" yaml:"hang"`
	// Refuse makes every call fail at once, as a refused connection does.
	Refuse bool `json:"refuse" yaml:"refuse"`
	// Capacity is how many calls the dependency serves at once; calls
	// beyond it queue (first come, first served) and their latency grows.
	// Default 0: no limit.
	Capacity int `json:"capacity" yaml:"capacity"`
	// Outage marks the phase as an outage in the summary (requests that
	// reached the dependency during it; time to recover after it). Default:
	// a phase that hangs, refuses or fails at least half of its calls.
	Outage *bool `json:"outage,omitempty" yaml:"outage"`
}

func (p *Phase) outage() bool {
	if p.Outage != nil {
		return *p.Outage
	}
	return p.Hang || p.Refuse || p.ErrorRate >= 0.5
}

// Client is how the simulated callers behave.
type Client struct {
	// Deadline is how long a caller waits for an answer before it gives up
	// (cancels its request). Default 0: forever.
	Deadline time.Duration `json:"deadline" yaml:"deadline"`
	// Retries is how many times a caller sends a failed request again.
	// Default 0.
	Retries int `json:"retries" yaml:"retries"`
	// RetryDelay is how long a caller waits before it retries. Default 0.
	RetryDelay time.Duration `json:"retry_delay" yaml:"retry_delay"`
	// GiveUp is the share of callers who do not retry a failed request
	// (they leave), in [0,1]. Default 0: all retry while Retries allows.
	GiveUp float64 `json:"give_up" yaml:"give_up"`
}

// Validate reports every problem in s, joined.
func (s *Scenario) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if s.Duration < 0 {
		bad("duration: must not be negative, got %v", s.Duration)
	}
	if s.Bucket < 0 {
		bad("bucket: must not be negative, got %v", s.Bucket)
	}
	if s.Trace == nil {
		if s.Duration == 0 {
			bad("duration: required")
		}
		if len(s.Load) == 0 {
			bad("load: at least one segment is required")
		}
		if len(s.Dependency) == 0 {
			bad("dependency: at least one phase is required")
		}
	}
	switch s.Arrivals {
	case "", Poisson, Even:
	default:
		bad("arrivals: must be poisson or even, got %q", s.Arrivals)
	}
	for i, l := range s.Load {
		errs = append(errs, prefix(fmt.Sprintf("load[%d]", i), l.validate(i == len(s.Load)-1))...)
	}
	for i, p := range s.Dependency {
		errs = append(errs, prefix(fmt.Sprintf("dependency[%d]", i), p.validate(i == len(s.Dependency)-1))...)
	}
	c := s.Client
	if c.Deadline < 0 {
		bad("client.deadline: must not be negative, got %v", c.Deadline)
	}
	if c.Retries < 0 || c.Retries > 100 {
		bad("client.retries: must be in 0..100, got %d", c.Retries)
	}
	if c.RetryDelay < 0 {
		bad("client.retry_delay: must not be negative, got %v", c.RetryDelay)
	}
	if !unit(c.GiveUp) {
		bad("client.give_up: must be in [0,1], got %v", c.GiveUp)
	}
	return errors.Join(errs...)
}

// FieldError is a problem with one field of a scenario, named by its key
// path ("dependency[1].error_rate").
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

func prefix(p string, errs []*FieldError) []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = &FieldError{Path: p + "." + e.Path, Msg: e.Msg}
	}
	return out
}

func unit(f float64) bool { return !math.IsNaN(f) && f >= 0 && f <= 1 }

func rateOK(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) && f >= 0 && f <= 1e7 }

func (l *Load) validate(last bool) []*FieldError {
	var errs []*FieldError
	bad := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if l.For < 0 || (l.For == 0 && !last) {
		bad("for", "must be positive (only the last segment may leave it out), got %v", l.For)
	}
	if !rateOK(l.Rate) {
		bad("rate", "must be in [0,1e7] requests per second, got %v", l.Rate)
	}
	if !rateOK(l.To) {
		bad("to", "must be in [0,1e7] requests per second, got %v", l.To)
	}
	switch l.Shape {
	case "", Constant, Ramp:
	case Burst:
		if l.Every <= 0 {
			bad("every", "must be positive for a burst, got %v", l.Every)
		}
		if l.BurstFor <= 0 || l.BurstFor >= l.Every {
			bad("burst_for", "must be positive and less than every (%v), got %v", l.Every, l.BurstFor)
		}
	case Diurnal:
		if l.Every <= 0 {
			bad("every", "must be positive for a diurnal curve, got %v", l.Every)
		}
	default:
		bad("shape", "must be constant, ramp, burst or diurnal, got %q", l.Shape)
	}
	return errs
}

func (p *Phase) validate(last bool) []*FieldError {
	var errs []*FieldError
	bad := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if p.For < 0 || (p.For == 0 && !last) {
		bad("for", "must be positive (only the last phase may leave it out), got %v", p.For)
	}
	if !unit(p.ErrorRate) {
		bad("error_rate", "must be in [0,1], got %v", p.ErrorRate)
	}
	if p.Capacity < 0 {
		bad("capacity", "must not be negative, got %d", p.Capacity)
	}
	if p.Hang && p.Refuse {
		bad("refuse", "a phase cannot both hang and refuse")
	}
	for _, e := range p.Latency.validate() {
		bad("latency."+e.Path, "%s", e.Msg)
	}
	return errs
}

// rate is the offered rate at t (since the start), in requests per second.
func rateAt(loads []Load, t time.Duration) float64 {
	var start time.Duration
	for i := range loads {
		l := &loads[i]
		if l.For == 0 || t < start+l.For || i == len(loads)-1 {
			return l.rate(t - start)
		}
		start += l.For
	}
	return 0
}

func (l *Load) rate(t time.Duration) float64 {
	switch l.Shape {
	case Ramp:
		if l.For <= 0 {
			return l.To
		}
		f := min(float64(t)/float64(l.For), 1)
		return l.Rate + (l.To-l.Rate)*f
	case Burst:
		if t%l.Every < l.BurstFor {
			return l.To
		}
		return l.Rate
	case Diurnal:
		ph := 2 * math.Pi * float64(t%l.Every) / float64(l.Every)
		return l.Rate + (l.To-l.Rate)*(1-math.Cos(ph))/2
	}
	return l.Rate
}

// segmentEnd returns when the load segment in force at t ends, or
// end when it lasts until the end.
func segmentEnd(loads []Load, t, end time.Duration) time.Duration {
	var start time.Duration
	for i := range loads {
		l := &loads[i]
		if l.For == 0 || i == len(loads)-1 {
			return end
		}
		if t < start+l.For {
			return min(start+l.For, end)
		}
		start += l.For
	}
	return end
}

// maxRate bounds the offered rate over the whole scenario.
func maxRate(loads []Load) float64 {
	m := 0.0
	for _, l := range loads {
		m = max(m, l.Rate)
		if l.Shape != Constant && l.Shape != "" {
			m = max(m, l.To)
		}
	}
	return m
}

// phaseAt returns the index of the phase in force at t.
func phaseAt(phases []Phase, t time.Duration) int {
	var start time.Duration
	for i := range phases {
		if phases[i].For == 0 || t < start+phases[i].For {
			return i
		}
		start += phases[i].For
	}
	return len(phases) - 1
}
