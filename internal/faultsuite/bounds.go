package faultsuite

import (
	"fmt"
	"time"
)

// OutageCut is the least share by which bulwark must cut the requests
// reaching the dependency during a full outage, against no protection.
const OutageCut = 0.90

// Slack is how far past its deadline a client may get its answer.
const Slack = 100 * time.Millisecond

// Violations returns the suite's bounds that the run broke, each as a
// sentence naming the mode and the figures; none means every bound held:
//
//   - during a long full outage (Scenario.Outage), each protected mode sends at most 10 % of the
//     requests the unprotected one sends to the dependency (OutageCut);
//   - no request of a protected mode reaches the dependency more than
//     MaxAttempts times;
//   - no non-idempotent request (POST) reaches it more than once, in any
//     mode;
//   - no caller of a protected mode waits longer than its deadline + Slack
//     (plus, on a CPU-starved machine, the lateness of the runner's own
//     10 ms timer during the call, which is measured);
//   - every call gets an answer or an error (none lost);
//   - the goroutines started by the run are gone at its end.
func (r *Result) Violations() []string {
	var v []string
	var none *ModeResult
	for i := range r.Modes {
		if r.Modes[i].Mode == Unprotected {
			none = &r.Modes[i]
		}
	}
	for _, m := range r.Modes {
		name := fmt.Sprintf("%s / %s", r.Scenario.Name, m.Mode)
		if m.Mode != Unprotected && none != nil && r.Scenario.Outage && none.ReachedDown > 0 {
			if limit := float64(none.ReachedDown) * (1 - OutageCut); float64(m.ReachedDown) > limit {
				v = append(v, fmt.Sprintf("%s: %d requests reached the dependency while it was down, against %d without protection: cut by %.1f%%, want at least %.0f%%",
					name, m.ReachedDown, none.ReachedDown, 100*(1-float64(m.ReachedDown)/float64(none.ReachedDown)), 100*OutageCut))
			}
		}
		if m.Mode != Unprotected && m.MaxSends > MaxAttempts {
			v = append(v, fmt.Sprintf("%s: a client request reached the dependency %d times, max_attempts is %d (%d requests over: %s)",
				name, m.MaxSends, MaxAttempts, len(m.Over), head(m.Over, 5)))
		}
		if m.MaxSendsUnsafe > 1 {
			v = append(v, fmt.Sprintf("%s: a POST reached the dependency %d times", name, m.MaxSendsUnsafe))
		}
		var late []string
		for _, c := range m.Calls {
			if m.Mode == Unprotected {
				break // a plain http.Client's own deadline is not bulwark's to keep
			}
			// The runner's own lateness (a CPU-starved machine) is not the
			// caller's wait on bulwark: it is measured and taken off.
			if c.Took > r.Deadline+Slack+r.lagDuring(c.At, c.At+c.Took) {
				late = append(late, fmt.Sprintf("%s %s waited %v", c.Method, c.ID, c.Took.Round(time.Millisecond)))
			}
		}
		if len(late) > 0 {
			v = append(v, fmt.Sprintf("%s: %d callers waited longer than the deadline %v + %v: %s (beyond the runner's own timer lateness, up to %v)",
				name, len(late), r.Deadline, Slack, head(late, 5), r.Lag.Round(time.Millisecond)))
		}
		if m.Lost > 0 {
			v = append(v, fmt.Sprintf("%s: %d of %d calls got neither an answer nor an error", name, m.Lost, m.Sent))
		}
	}
	if r.GoroutinesEnd > r.GoroutinesStart {
		v = append(v, fmt.Sprintf("%s: %d goroutines at the end, %d at the start", r.Scenario.Name, r.GoroutinesEnd, r.GoroutinesStart))
	}
	return v
}

func head(s []string, n int) string {
	out := fmt.Sprint(s[:min(n, len(s))])
	if len(s) > n {
		out += fmt.Sprintf(" and %d more", len(s)-n)
	}
	return out
}
