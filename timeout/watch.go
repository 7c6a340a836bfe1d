package timeout

import "github.com/bulwark-go/bulwark"

var description = &bulwark.Description{
	Policy: "timeout",
	Figures: []bulwark.Figure{
		{Name: "calls", Unit: "{call}", Counter: true, Help: "Calls through the timeout policy."},
		{Name: "orphans", Unit: "{call}", Help: "Operations still running after their detached call returned at the timeout."},
	},
}

// Describe returns what a Timeout reports when watched: the calls through
// it and the orphaned operations still running. It implements
// [bulwark.Watchable].
func (t *Timeout) Describe() *bulwark.Description { return description }

// Collect stores the Timeout's current figures in values. It implements
// [bulwark.Watchable].
func (t *Timeout) Collect(values []float64) string {
	s := t.Snapshot()
	values[0], values[1] = float64(s.Calls), float64(s.Orphans)
	return ""
}
