package chaos

import "github.com/bulwark-go/bulwark"

var description = &bulwark.Description{
	Policy: "chaos",
	Figures: []bulwark.Figure{
		{Name: "enabled", Unit: "1", Help: "1 while the fault injector is enabled, 0 while it is off."},
		{Name: "calls", Unit: "{call}", Counter: true, Help: "Calls through the fault injector, enabled or not."},
		{Name: "injected", Unit: "{fault}", Counter: true, Label: "fault", Values: []string{"error", "latency", "panic", "result"},
			Help: "Faults injected, by fault: error, latency, panic or result."},
	},
}

// Describe returns what an Injector reports when watched: whether it is
// enabled, the calls through it and the faults it injected, by fault. It
// implements [bulwark.Watchable].
func (in *Injector) Describe() *bulwark.Description { return description }

// Collect stores the Injector's current figures in values. It implements
// [bulwark.Watchable].
func (in *Injector) Collect(values []float64) string {
	s := in.Snapshot()
	values[0] = 0
	if s.Enabled {
		values[0] = 1
	}
	values[1] = float64(s.Calls)
	values[2], values[3], values[4], values[5] = float64(s.Errors), float64(s.Latencies), float64(s.Panics), float64(s.Results)
	return ""
}
