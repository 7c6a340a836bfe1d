package breaker

import "github.com/bulwark-go/bulwark"

var description = &bulwark.Description{
	Policy: "breaker",
	States: []string{
		StateClosed.String(), StateOpen.String(), StateHalfOpen.String(),
		StateForcedOpen.String(), StateForcedClosed.String(),
		StateDisabled.String(), StateMetricsOnly.String(),
	},
	Unready: []string{StateOpen.String(), StateForcedOpen.String()},
	Figures: []bulwark.Figure{
		{Name: "failure_ratio", Unit: "1", Help: "Share of failed calls in the circuit breaker's current window (0 to 1)."},
		{Name: "slow_call_ratio", Unit: "1", Help: "Share of slow calls in the circuit breaker's current window (0 to 1)."},
	},
}

// Describe returns what a Breaker reports when watched: its state (open and
// forced open make a critical breaker unready) and its window's failure and
// slow-call ratios. It implements [bulwark.Watchable].
func (b *Breaker) Describe() *bulwark.Description { return description }

// Collect stores the Breaker's current ratios in values and returns its
// state. It implements [bulwark.Watchable].
func (b *Breaker) Collect(values []float64) string {
	s := b.Snapshot()
	values[0], values[1] = s.FailureRate, s.SlowCallRate
	return s.State.String()
}
