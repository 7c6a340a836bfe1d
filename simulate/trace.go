package simulate

import "time"

// TraceRecord is one recorded request: when it arrived (since the start of
// the trace), how long the dependency took and whether it failed.
type TraceRecord struct {
	At      time.Duration `json:"at"`
	Latency time.Duration `json:"latency"`
	Failed  bool          `json:"failed"`
}
