package demo

import "time"

// PhaseNameAt is the name of the upstream's phase at elapsed, in a demo
// of duration d.
func PhaseNameAt(d, elapsed time.Duration) string {
	return demoPhases[demoPhaseAt(demoBounds(d), elapsed)].name
}
