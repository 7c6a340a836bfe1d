package adaptive

import "github.com/bulwark-go/bulwark"

var description = &bulwark.Description{
	Policy: "adaptive",
	Figures: []bulwark.Figure{
		{Name: "limit", Unit: "{call}", Help: "The adaptive limiter's current concurrency limit for normal-priority calls."},
		{Name: "in_flight", Unit: "{call}", Help: "Calls the adaptive limiter admitted that have not finished."},
		{Name: "queued", Unit: "{call}", Help: "Calls waiting in the adaptive limiter's queue."},
		{Name: "rtt", Unit: "s", Help: "Median latency of the adaptive limiter's latest window of calls."},
	},
}

// Describe returns what a Limiter reports when watched: its limit, calls in
// flight and queued, and latest median latency. It implements
// [bulwark.Watchable].
func (l *Limiter) Describe() *bulwark.Description { return description }

// Collect stores the Limiter's current figures in values. It implements
// [bulwark.Watchable].
func (l *Limiter) Collect(values []float64) string {
	s := l.Snapshot()
	values[0], values[1], values[2], values[3] = float64(s.Limit), float64(s.InFlight), float64(s.Queued), s.RTT.Seconds()
	return ""
}
