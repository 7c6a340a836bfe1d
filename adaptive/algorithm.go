package adaptive

import (
	"fmt"
	"math"
	"time"
)

// An Algorithm moves the limit as latency changes. [AIMD], [Gradient] and
// [Vegas] implement it; their zero values are valid and use the defaults
// their fields document.
//
// The limiter groups finished calls into windows of about as many calls as
// the limit (at least 10), and gives the algorithm each window's median
// latency, the most calls that were in flight, and how many calls were
// dropped (timed out or shed downstream). The algorithm returns the new
// limit, which the limiter keeps within [Config.MinLimit, Config.MaxLimit].
//
// A window in which fewer than half the limit's calls were in flight says
// nothing about how many calls the dependency can take, so after it the
// algorithms leave the limit as it is, except that dropped calls (and, for
// AIMD, latency over its Threshold) still lower it.
type Algorithm interface {
	validate() error
	newEstimator() estimator
}

// window is what the limiter tells an algorithm about one window of calls.
type window struct {
	rtt         time.Duration // median duration of the measured calls; 0 if none
	noLoad      time.Duration // the no-load latency estimate; 0 until measured
	maxInFlight int           // the most calls in flight at an admission during the window
	measured    int           // calls with a measured duration
	dropped     int           // calls reported dropped
}

type estimator interface {
	// update returns the limit after window w, given the current limit.
	update(limit float64, w window) float64
	// probeInterval is how often the no-load latency is measured again;
	// zero when the algorithm does not use it.
	probeInterval() time.Duration
}

// appLimited reports whether the window used too little of the limit to
// justify raising it.
func (w window) appLimited(limit float64) bool { return float64(w.maxInFlight)*2 < limit }

// AIMD raises the limit by a constant after each window of calls without
// overload and cuts it by a factor after a window with overload, as TCP Reno
// does with its congestion window. A window is overloaded when a call in it
// was dropped or when its median latency passed Threshold.
//
// AIMD is simple and predictable but needs a latency threshold chosen for
// the dependency; [Gradient] and [Vegas] find their own.
type AIMD struct {
	// Increase is added to the limit after a window without overload.
	// Zero means 1; it must not be negative.
	Increase float64
	// Backoff multiplies the limit after an overloaded window. Zero means
	// 0.9; otherwise it must be in (0, 1).
	Backoff float64
	// Threshold is the median latency above which a window counts as
	// overloaded. Zero means only dropped calls count; it must not be
	// negative.
	Threshold time.Duration
}

func (a AIMD) validate() error {
	switch {
	case a.Increase < 0 || math.IsNaN(a.Increase) || math.IsInf(a.Increase, 0):
		return fmt.Errorf("AIMD.Increase must be positive and finite (got %v)", a.Increase)
	case a.Backoff != 0 && !(a.Backoff > 0 && a.Backoff < 1):
		return fmt.Errorf("AIMD.Backoff must be between 0 and 1 (got %v)", a.Backoff)
	case a.Threshold < 0:
		return fmt.Errorf("AIMD.Threshold must not be negative (got %v)", a.Threshold)
	}
	return nil
}

func (a AIMD) newEstimator() estimator {
	if a.Increase == 0 {
		a.Increase = 1
	}
	if a.Backoff == 0 {
		a.Backoff = 0.9
	}
	return &a
}

func (a *AIMD) probeInterval() time.Duration { return 0 }

func (a *AIMD) update(limit float64, w window) float64 {
	if w.dropped > 0 || (a.Threshold > 0 && w.rtt > a.Threshold) {
		return limit * a.Backoff
	}
	if w.appLimited(limit) {
		return limit
	}
	return limit + a.Increase
}

// Gradient compares each window's latency with the latency of the dependency
// without load, in the manner of Netflix's Gradient limit and Envoy's
// adaptive concurrency filter. The gradient is
//
//	g = Tolerance × noLoad / latency, kept within [0.5, 1]
//
// While g is 1 (latency within Tolerance of the no-load latency), the limit
// grows after each window, probing for capacity: by its square root while
// latency is at the no-load latency, by less as latency nears the tolerance
// (a tenth of that at least). When
// latency passes that, the limit moves towards limit × g, by Smoothing of
// the way per window, so that latency settles near Tolerance × noLoad. A
// window with a dropped call counts as g = 0.5.
//
// The no-load latency is measured by a probe: when the limiter starts, and
// every ProbeInterval after, the limit in force is halved; once the calls in
// flight have drained to it, the median latency of the next calls admitted
// (as many as the halved limit, at least 50) becomes the new estimate. The
// limit then returns to its value before the probe. "Latency" is the median
// of a window throughout, so that a few slow calls (a pause, a cold cache)
// do not move the limit.
type Gradient struct {
	// Tolerance is how much latency may exceed the no-load latency before
	// the limit comes down: 1.2 accepts 20% more. Zero means 1.2; otherwise
	// it must be at least 1. A dependency with noisy latency needs more.
	Tolerance float64
	// Smoothing is the share of the way the limit moves towards its target
	// after each overloaded window. Zero means 0.2; otherwise it must be in
	// (0, 1].
	Smoothing float64
	// ProbeInterval is how often the no-load latency is measured again, so
	// that the limit follows a dependency that becomes slower or faster for
	// good. Zero means 1 minute; a negative value means only once, at the
	// start.
	ProbeInterval time.Duration
}

func (g Gradient) validate() error {
	switch {
	case g.Tolerance != 0 && !(g.Tolerance >= 1 && !math.IsInf(g.Tolerance, 0)):
		return fmt.Errorf("Gradient.Tolerance must be at least 1 (got %v)", g.Tolerance)
	case g.Smoothing != 0 && !(g.Smoothing > 0 && g.Smoothing <= 1):
		return fmt.Errorf("Gradient.Smoothing must be in (0, 1] (got %v)", g.Smoothing)
	}
	return nil
}

func (g Gradient) newEstimator() estimator {
	if g.Tolerance == 0 {
		g.Tolerance = 1.2
	}
	if g.Smoothing == 0 {
		g.Smoothing = 0.2
	}
	g.ProbeInterval = probeDefault(g.ProbeInterval)
	return &g
}

func (g *Gradient) probeInterval() time.Duration { return g.ProbeInterval }

func (g *Gradient) update(limit float64, w window) float64 {
	grad := 0.5
	if w.dropped == 0 {
		if w.rtt <= 0 || w.noLoad <= 0 || w.appLimited(limit) {
			return limit
		}
		grad = min(1, max(0.5, g.Tolerance*float64(w.noLoad)/float64(w.rtt)))
	}
	if grad >= 1 {
		// Probe upwards by up to √limit, less as latency nears the
		// tolerance, so the limit settles there instead of overshooting.
		room := 1.0
		if g.Tolerance > 1 {
			room = (g.Tolerance*float64(w.noLoad) - float64(w.rtt)) / ((g.Tolerance - 1) * float64(w.noLoad))
		}
		return limit + math.Sqrt(limit)*min(1, max(room, 0.1))
	}
	return limit + g.Smoothing*(limit*grad-limit)
}

// Vegas estimates how many calls are queued at the dependency from how much
// latency exceeds the no-load latency, as TCP Vegas and Netflix's Vegas
// limit do:
//
//	queued = limit × (1 − noLoad / latency)
//
// and keeps that number between alpha = 3·log10(limit) and
// beta = 6·log10(limit). With few calls queued (at most log10(limit)) the
// limit grows by beta; below alpha by log10(limit); above beta it shrinks by
// log10(limit). A window with a dropped call also shrinks it by
// log10(limit). Each change is applied by Smoothing of the way.
//
// The no-load latency is measured by a probe, as for [Gradient].
type Vegas struct {
	// Smoothing is the share of each change applied. Zero means 1 (all of
	// it); otherwise it must be in (0, 1].
	Smoothing float64
	// ProbeInterval is how often the no-load latency is measured again.
	// Zero means 1 minute; a negative value means only once, at the start.
	ProbeInterval time.Duration
}

func (v Vegas) validate() error {
	if v.Smoothing != 0 && !(v.Smoothing > 0 && v.Smoothing <= 1) {
		return fmt.Errorf("Vegas.Smoothing must be in (0, 1] (got %v)", v.Smoothing)
	}
	return nil
}

func (v Vegas) newEstimator() estimator {
	if v.Smoothing == 0 {
		v.Smoothing = 1
	}
	v.ProbeInterval = probeDefault(v.ProbeInterval)
	return &v
}

func (v *Vegas) probeInterval() time.Duration { return v.ProbeInterval }

func (v *Vegas) update(limit float64, w window) float64 {
	lg := math.Log10(max(limit, 10))
	target := limit
	switch {
	case w.dropped > 0:
		target = limit - lg
	case w.rtt <= 0 || w.noLoad <= 0 || w.appLimited(limit):
		return limit
	default:
		queued := limit * (1 - float64(w.noLoad)/float64(w.rtt))
		switch {
		case queued > 6*lg:
			target = limit - lg
		case queued <= lg:
			target = limit + 6*lg
		case queued < 3*lg:
			target = limit + lg
		}
	}
	return limit + v.Smoothing*(target-limit)
}

// DefaultProbeInterval is how often Gradient and Vegas measure the no-load
// latency again when their ProbeInterval is zero.
const DefaultProbeInterval = time.Minute

// probeDefault turns a configured interval into the one used: the default
// for zero, and a practically infinite one for a negative value.
func probeDefault(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return DefaultProbeInterval
	case d < 0:
		return math.MaxInt64
	}
	return d
}
