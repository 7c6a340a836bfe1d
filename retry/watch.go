package retry

import "github.com/bulwark-go/bulwark"

var description = &bulwark.Description{
	Policy: "retry",
	Figures: []bulwark.Figure{
		{Name: "calls", Unit: "{call}", Counter: true, Help: "Calls through the retry policy."},
		{Name: "attempts", Unit: "{attempt}", Counter: true, Help: "Attempts the retry policy made: calls plus retries."},
	},
}

// Describe returns what a Retry reports when watched: the calls through it
// and the attempts it made. It implements [bulwark.Watchable].
func (r *Retry) Describe() *bulwark.Description { return description }

// Collect stores the Retry's current figures in values. It implements
// [bulwark.Watchable].
func (r *Retry) Collect(values []float64) string {
	s := r.Snapshot()
	values[0], values[1] = float64(s.Calls), float64(s.Attempts)
	return ""
}
