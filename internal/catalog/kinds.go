package catalog

import (
	"math"

	"github.com/bulwark-go/bulwark/adaptive"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/recovery"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

func of(p any) (Source, bool) {
	switch p := p.(type) {
	case *adaptive.Limiter:
		return Source{Kind: adaptiveKind, Name: p.Name(), Read: func(v []float64) string {
			s := p.Snapshot()
			v[0], v[1], v[2], v[3] = float64(s.Limit), float64(s.InFlight), float64(s.Queued), s.RTT.Seconds()
			return ""
		}}, true
	case *breaker.Breaker:
		return Source{Kind: breakerKind, Name: p.Name(), Read: func(v []float64) string {
			s := p.Snapshot()
			v[0], v[1] = s.FailureRate, s.SlowCallRate
			return s.State.String()
		}}, true
	case *bulkhead.Bulkhead:
		return Source{Kind: bulkheadKind, Name: p.Name(), Read: func(v []float64) string {
			s := p.Snapshot()
			v[0], v[1], v[2] = float64(s.Capacity), float64(s.InUse), float64(s.Waiting)
			return ""
		}}, true
	case *fallback.Fallback:
		return Source{Kind: fallbackKind, Name: p.Name(), Read: func(v []float64) string {
			v[0] = float64(p.Snapshot().Calls)
			return ""
		}}, true
	case *timeout.Timeout:
		return Source{Kind: timeoutKind, Name: p.Name(), Read: func(v []float64) string {
			s := p.Snapshot()
			v[0], v[1] = float64(s.Calls), float64(s.Orphans)
			return ""
		}}, true
	case *chaos.Injector:
		return Source{Kind: chaosKind, Name: p.Name(), Read: func(v []float64) string {
			s := p.Snapshot()
			v[0] = b2f(s.Enabled)
			v[1] = float64(s.Calls)
			v[2], v[3], v[4], v[5] = float64(s.Errors), float64(s.Latencies), float64(s.Panics), float64(s.Results)
			return ""
		}}, true
	case *hedge.Hedger:
		return Source{Kind: hedgeKind, Name: p.Name(), Read: func(v []float64) string {
			s := p.Snapshot()
			v[0], v[1] = float64(s.Calls), s.Delay.Seconds()
			return ""
		}}, true
	case *ratelimit.Limiter:
		return Source{Kind: ratelimitKind, Name: p.Name(), Read: func(v []float64) string {
			s := p.Snapshot()
			v[0], v[1], v[2], v[3], v[4] = float64(s.Allowed), s.Rate, float64(s.Burst), s.Tokens, math.NaN()
			return ""
		}}, true
	case *ratelimit.Keyed:
		return Source{Kind: ratelimitKind, Name: p.Name(), Read: func(v []float64) string {
			s := p.Snapshot()
			v[0], v[1], v[2], v[3], v[4] = float64(s.Allowed), s.Rate, float64(s.Burst), math.NaN(), float64(s.Keys)
			return ""
		}}, true
	case *recovery.Recovery:
		return Source{Kind: recoveryKind, Name: p.Name(), Read: func([]float64) string { return "" }}, true
	case *retry.Retry:
		return Source{Kind: retryKind, Name: p.Name(), Read: func(v []float64) string {
			s := p.Snapshot()
			v[0], v[1] = float64(s.Calls), float64(s.Attempts)
			return ""
		}}, true
	}
	return Source{}, false
}

var chaosKind = &Kind{
	Policy: "chaos",
	Figures: []Figure{
		{Name: "enabled", Unit: "1", Help: "1 while the fault injector is enabled, 0 while it is off."},
		{Name: "calls", Unit: "{call}", Counter: true, Help: "Calls through the fault injector, enabled or not."},
		{Name: "injected", Unit: "{fault}", Counter: true, Label: "fault", Values: []string{"error", "latency", "panic", "result"},
			Help: "Faults injected, by fault: error, latency, panic or result."},
	},
}

var retryKind = &Kind{
	Policy: "retry",
	Figures: []Figure{
		{Name: "calls", Unit: "{call}", Counter: true, Help: "Calls through the retry policy."},
		{Name: "attempts", Unit: "{attempt}", Counter: true, Help: "Attempts the retry policy made: calls plus retries."},
	},
}

var hedgeKind = &Kind{
	Policy: "hedge",
	Figures: []Figure{
		{Name: "calls", Unit: "{call}", Counter: true, Help: "Calls through the hedging policy."},
		{Name: "delay", Unit: "s", Help: "The delay the next call will wait before it starts a hedged attempt."},
	},
}

var breakerKind = &Kind{
	Policy: "breaker",
	States: []string{
		breaker.StateClosed.String(), breaker.StateOpen.String(), breaker.StateHalfOpen.String(),
		breaker.StateForcedOpen.String(), breaker.StateForcedClosed.String(),
		breaker.StateDisabled.String(), breaker.StateMetricsOnly.String(),
	},
	Unready: []string{breaker.StateOpen.String(), breaker.StateForcedOpen.String()},
	Figures: []Figure{
		{Name: "failure_ratio", Unit: "1", Help: "Share of failed calls in the circuit breaker's current window (0 to 1)."},
		{Name: "slow_call_ratio", Unit: "1", Help: "Share of slow calls in the circuit breaker's current window (0 to 1)."},
	},
}

var bulkheadKind = &Kind{
	Policy: "bulkhead",
	Figures: []Figure{
		{Name: "capacity", Unit: "{permit}", Help: "Permits the bulkhead holds: the calls it lets run at once."},
		{Name: "in_use", Unit: "{permit}", Help: "Permits held now by running calls."},
		{Name: "waiting", Unit: "{call}", Help: "Calls queued for a permit now."},
	},
}

var fallbackKind = &Kind{
	Policy: "fallback",
	Figures: []Figure{
		{Name: "calls", Unit: "{call}", Counter: true, Help: "Calls through the fallback policy."},
	},
}

var timeoutKind = &Kind{
	Policy: "timeout",
	Figures: []Figure{
		{Name: "calls", Unit: "{call}", Counter: true, Help: "Calls through the timeout policy."},
		{Name: "orphans", Unit: "{call}", Help: "Operations still running after their detached call returned at the timeout."},
	},
}

// recoveryKind has no figures: its panics are counted from events, and
// watching it makes bulwark_recovery_panics_total start at zero.
var recoveryKind = &Kind{Policy: "recovery"}

var adaptiveKind = &Kind{
	Policy: "adaptive",
	Figures: []Figure{
		{Name: "limit", Unit: "{call}", Help: "The adaptive limiter's current concurrency limit for normal-priority calls."},
		{Name: "in_flight", Unit: "{call}", Help: "Calls the adaptive limiter admitted that have not finished."},
		{Name: "queued", Unit: "{call}", Help: "Calls waiting in the adaptive limiter's queue."},
		{Name: "rtt", Unit: "s", Help: "Median latency of the adaptive limiter's latest window of calls."},
	},
}

// ratelimitKind serves both the plain limiter (tokens) and the keyed one
// (keys); each leaves the other's figure out.
var ratelimitKind = &Kind{
	Policy: "ratelimit",
	Figures: []Figure{
		{Name: "allowed", Unit: "{call}", Counter: true, Help: "Calls the rate limiter admitted."},
		{Name: "rate", Unit: "{call}/s", Help: "The rate limiter's rate, in events a second (per key for a keyed limiter); +Inf when unlimited."},
		{Name: "burst", Unit: "{call}", Help: "The most events the rate limiter admits at once (per key for a keyed limiter)."},
		{Name: "tokens", Unit: "{call}", Help: "Events the rate limiter could admit now; negative while reservations wait (plain limiters only)."},
		{Name: "keys", Unit: "{key}", Help: "Keys a keyed rate limiter remembers now (keyed limiters only)."},
	},
}
