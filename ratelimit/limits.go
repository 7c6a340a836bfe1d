package ratelimit

import (
	"fmt"
	"math"
	"time"
)

// MaxRate is the highest finite rate a limiter accepts: one event per
// nanosecond. Use math.Inf(1) for no limit.
const MaxRate = 1e9

// maxSpan bounds, in ticks, how far ahead of now the theoretical arrival
// time may run (the burst times the interval), so that differences of
// ticks never come near overflowing. It is about 9 years.
const maxSpan = 1 << 62

// limits is one setting of a limiter: immutable, swapped as a whole.
type limits struct {
	rate      float64 // events per second, as configured; +Inf when unlimited
	burst     int     // the most events admitted at once
	interval  int64   // ticks per event (the emission interval of GCRA)
	tau       int64   // burst × interval: how far ahead of now the TAT may run
	unlimited bool
}

// newLimits checks a rate given as events per second, or as limit events
// per per when limit > 0, and a burst, and returns the setting. field names
// the configuration fields in errors.
func newLimits(rate float64, limit int, per time.Duration, burst int, prefix string) (*limits, error) {
	if burst < 0 {
		return nil, fmt.Errorf("ratelimit: %sBurst is %d; it must be positive, or 0 for the default 1", prefix, burst)
	}
	if burst == 0 {
		burst = 1
	}
	var interval int64
	switch {
	case limit != 0 || per != 0:
		if rate != 0 {
			return nil, fmt.Errorf("ratelimit: %sRate and %sLimit/Per are both set; set one", prefix, prefix)
		}
		if limit <= 0 {
			return nil, fmt.Errorf("ratelimit: %sLimit is %d; with Per it must be positive", prefix, limit)
		}
		if per <= 0 {
			return nil, fmt.Errorf("ratelimit: %sPer is %v; with Limit it must be positive", prefix, per)
		}
		if per > maxSpan>>tickShift {
			return nil, fmt.Errorf("ratelimit: %sPer is %v; it must be at most %v", prefix, per, time.Duration(maxSpan>>tickShift))
		}
		rate = float64(limit) / per.Seconds()
		if rate > MaxRate {
			return nil, fmt.Errorf("ratelimit: %sLimit/Per is %d per %v, more than the maximum of one per nanosecond", prefix, limit, per)
		}
		// Exact integer rounding: per is at most 2^58 ns, so per<<4 fits.
		interval = (int64(per)<<tickShift + int64(limit)/2) / int64(limit)
	case math.IsInf(rate, 1):
		return &limits{rate: rate, burst: burst, unlimited: true}, nil
	default:
		if !(rate > 0) { // also NaN
			return nil, fmt.Errorf("ratelimit: %sRate is %v; it must be positive (math.Inf(1) for no limit), or set Limit and Per", prefix, rate)
		}
		if rate > MaxRate {
			return nil, fmt.Errorf("ratelimit: %sRate is %v per second; it must be at most %v (math.Inf(1) for no limit)", prefix, rate, float64(MaxRate))
		}
		iv := math.Round(float64(time.Second<<tickShift) / rate)
		if iv > maxSpan {
			return nil, fmt.Errorf("ratelimit: %sRate is %v per second; it must be at least one per %v", prefix, rate, time.Duration(maxSpan>>tickShift))
		}
		interval = int64(iv)
	}
	if int64(burst) > maxSpan/interval {
		return nil, fmt.Errorf("ratelimit: %sBurst is %d; at %v per second a bucket that size takes more than %v to refill; lower it",
			prefix, burst, rate, time.Duration(maxSpan>>tickShift))
	}
	return &limits{rate: rate, burst: burst, interval: interval, tau: int64(burst) * interval}, nil
}

// keepInterval makes q use p's interval when both have the same rate, so
// that changing only the burst of a limiter set with Limit and Per keeps
// its exact integer interval.
func (q *limits) keepInterval(p *limits) {
	if q.rate == p.rate && !q.unlimited && !p.unlimited {
		q.interval = p.interval
		q.tau = int64(q.burst) * q.interval
	}
}

// take is one step of GCRA (the generic cell rate algorithm): admitting n
// events at now moves the theoretical arrival time from tat to next; the
// step is allowed when next is at most tau ahead of now, that is when over
// <= 0. When over > 0 it is how long (in ticks) the caller must wait.
//
// n must be between 0 and burst, so n × interval cannot overflow.
func (p *limits) take(tat, now uint64, n int) (next uint64, over int64) {
	start := tat
	if ahead(now, tat) > 0 { // idle: the bucket has refilled up to now
		start = now
	}
	next = start + uint64(int64(n)*p.interval)
	return next, ahead(next, now) - p.tau
}

// decision describes the state tat (after the step, if it was allowed) to
// a caller at now. over is take's, used for RetryAfter when not allowed.
func (p *limits) decision(allowed bool, tat, now uint64, over int64) Decision {
	if p.unlimited {
		return Decision{Allowed: true, Limit: p.burst, Remaining: p.burst}
	}
	debt := max(ahead(tat, now), 0)
	d := Decision{
		Allowed:    allowed,
		Limit:      p.burst,
		Remaining:  int(max(p.tau-debt, 0) / p.interval),
		ResetAfter: durationOf(debt),
	}
	if !allowed {
		d.RetryAfter = durationOf(over)
	}
	return d
}

// tokens returns the events that could be admitted at now: negative when
// reservations are outstanding.
func (p *limits) tokens(tat, now uint64) float64 {
	if p.unlimited {
		return math.Inf(1)
	}
	debt := max(ahead(tat, now), 0)
	return float64(p.tau-debt) / float64(p.interval)
}

// rescale carries the state tat from the setting p to the setting q at now:
// the number of events that could be admitted stays the same, capped at q's
// burst, the way golang.org/x/time/rate keeps its tokens across SetLimit.
// Without it, lowering the rate would turn the time already owed into a
// larger burst.
func (p *limits) rescale(q *limits, tat, now uint64) uint64 {
	if q.unlimited {
		return tat
	}
	avail := float64(q.burst)
	if !p.unlimited {
		avail = min(p.tokens(tat, now), avail)
	}
	debt := (float64(q.burst) - avail) * float64(q.interval)
	return now + uint64(int64(math.Round(debt)))
}
