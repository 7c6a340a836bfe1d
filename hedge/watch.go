package hedge

import "github.com/bulwark-go/bulwark"

var description = &bulwark.Description{
	Policy: "hedge",
	Figures: []bulwark.Figure{
		{Name: "calls", Unit: "{call}", Counter: true, Help: "Calls through the hedging policy."},
		{Name: "delay", Unit: "s", Help: "The delay the next call will wait before it starts a hedged attempt."},
	},
}

// Describe returns what a Hedger reports when watched: the calls through it
// and its current hedging delay. It implements [bulwark.Watchable].
func (h *Hedger) Describe() *bulwark.Description { return description }

// Collect stores the Hedger's current figures in values. It implements
// [bulwark.Watchable].
func (h *Hedger) Collect(values []float64) string {
	s := h.Snapshot()
	values[0], values[1] = float64(s.Calls), s.Delay.Seconds()
	return ""
}
