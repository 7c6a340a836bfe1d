package breaker

import "time"

// Snapshot is a breaker's live figures, as [Breaker.Snapshot] returns them.
type Snapshot struct {
	Name  string
	State State
	// Since is when the breaker entered State.
	Since time.Time
	// Shadow is the state of the unenforced state machine in metrics-only
	// mode ("what it would be"); in every other state it equals State.
	Shadow State

	// Window and WindowSize describe the window (defaults filled in).
	Window     WindowKind
	WindowSize int
	// Calls, Failures and SlowCalls are counted in the closed state's
	// window; a state change to closed empties it, and it keeps the figures
	// that opened the breaker while it is open. WindowConsecutive keeps no
	// window: they are zero.
	Calls, Failures, SlowCalls int
	// FailureRate and SlowCallRate are Failures/Calls and SlowCalls/Calls,
	// or 0 when Calls is 0.
	FailureRate, SlowCallRate float64
	// ConsecutiveFailures is the number of failures in a row among the
	// recorded calls.
	ConsecutiveFailures int
	// Ignored counts the calls whose outcome was ignored (Config.IsIgnored,
	// the caller's cancellation) since the breaker was created.
	Ignored uint64

	// Probes is the number of probe permits handed out in the current
	// half-open period; ProbeFailures and ProbeSlowCalls count the probes
	// that came back failed or slow.
	Probes, ProbeFailures, ProbeSlowCalls int

	// Wait is the length of the current open wait; when the breaker is not
	// open, the wait its next opening would use (before jitter).
	Wait time.Duration
	// OpenUntil is when the current open wait ends; zero when not open.
	OpenUntil time.Time
	// LongestWait is the longest open wait the configuration allows:
	// WaitDuration when the wait never grows, else its cap. Replicas
	// sharing openings clamp a received one to it.
	LongestWait time.Duration
}

// Snapshot returns the breaker's live figures.
func (b *Breaker) Snapshot() Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.cur.Load()
	cfg := r.cfg
	w := b.win
	if w.kind == WindowTime {
		w.advance(int64(b.clock() / time.Second))
	}
	s := Snapshot{
		Name: cfg.name, State: r.state, Since: r.since, Shadow: r.state,
		Window: cfg.window, WindowSize: cfg.size,
		Calls: w.calls, Failures: w.fails, SlowCalls: w.slow,
		ConsecutiveFailures: b.consec,
		Ignored:             b.ignored.Load(),
		Wait:                waitFor(cfg, b.level),
		LongestWait:         cfg.wait,
	}
	if cfg.mult != 1 {
		s.LongestWait = cfg.maxWait
	}
	if w.calls > 0 {
		s.FailureRate = float64(w.fails) / float64(w.calls)
		s.SlowCallRate = float64(w.slow) / float64(w.calls)
	}
	if r.automatic() {
		s.Shadow = r.machine
		switch r.machine {
		case StateOpen:
			s.Wait, s.OpenUntil = r.wait, r.until
		case StateHalfOpen:
			s.Wait = waitFor(cfg, b.level+1)
		}
	}
	if r.probes != nil {
		s.Probes = int(min(r.probes.permits.Load(), int64(cfg.halfOpen)))
		s.ProbeFailures, s.ProbeSlowCalls = r.probes.fails, r.probes.slow
	}
	return s
}
