package fallback

import "github.com/bulwark-go/bulwark"

var description = &bulwark.Description{
	Policy: "fallback",
	Figures: []bulwark.Figure{
		{Name: "calls", Unit: "{call}", Counter: true, Help: "Calls through the fallback policy."},
	},
}

// Describe returns what a Fallback reports when watched: the calls through
// it. It implements [bulwark.Watchable].
func (f *Fallback) Describe() *bulwark.Description { return description }

// Collect stores the Fallback's call count in values. It implements
// [bulwark.Watchable].
func (f *Fallback) Collect(values []float64) string {
	values[0] = float64(f.Snapshot().Calls)
	return ""
}
