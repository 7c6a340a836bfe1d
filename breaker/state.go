package breaker

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
)

// State is the state of a [Breaker]. The first three are the automatic
// states the breaker moves between by itself; the others are set by hand.
type State uint8

const (
	// StateClosed lets calls through and records their outcomes.
	StateClosed State = iota
	// StateOpen rejects every call until its wait is over.
	StateOpen
	// StateHalfOpen lets a few probe calls through and rejects the rest.
	StateHalfOpen
	// StateForcedOpen rejects every call until the state is changed by
	// hand ([Breaker.ForceOpen]).
	StateForcedOpen
	// StateForcedClosed lets every call through and records it, but never
	// opens ([Breaker.ForceClosed]).
	StateForcedClosed
	// StateDisabled lets every call through and records nothing
	// ([Breaker.Disable]).
	StateDisabled
	// StateMetricsOnly lets every call through, records it and runs the
	// state machine without enforcing it ([Breaker.MetricsOnly],
	// Config.MetricsOnly).
	StateMetricsOnly
)

var stateNames = [...]string{
	StateClosed:       "closed",
	StateOpen:         "open",
	StateHalfOpen:     "half-open",
	StateForcedOpen:   "forced-open",
	StateForcedClosed: "forced-closed",
	StateDisabled:     "disabled",
	StateMetricsOnly:  "metrics-only",
}

// String returns the state's name: "closed", "open", "half-open",
// "forced-open", "forced-closed", "disabled" or "metrics-only".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Cause says why a [Breaker] changed state.
type Cause uint8

const (
	// CauseFailureRate: the failure rate in the window reached
	// FailureRateThreshold.
	CauseFailureRate Cause = iota + 1
	// CauseSlowCallRate: the slow-call rate in the window reached
	// SlowCallRateThreshold.
	CauseSlowCallRate
	// CauseConsecutiveFailures: WindowSize failures in a row
	// (WindowConsecutive).
	CauseConsecutiveFailures
	// CauseWaitElapsed: the open wait is over; probes may go.
	CauseWaitElapsed
	// CauseProbesPassed: the half-open probes succeeded.
	CauseProbesPassed
	// CauseProbesFailed: the half-open probes failed or were slow.
	CauseProbesFailed
	// CauseHalfOpenTimeout: the probes did not decide within MaxHalfOpen.
	CauseHalfOpenTimeout
	// CauseManual: ForceOpen, ForceClosed, Disable, MetricsOnly or Reset.
	CauseManual
	// CauseExternal: OpenUntil or CloseNow, typically a state shared by a
	// fleet of instances.
	CauseExternal
	// CauseReconfigure: Reconfigure switched metrics-only mode on or off.
	CauseReconfigure
)

var causeNames = [...]string{
	CauseFailureRate:         "failure-rate",
	CauseSlowCallRate:        "slow-call-rate",
	CauseConsecutiveFailures: "consecutive-failures",
	CauseWaitElapsed:         "wait-elapsed",
	CauseProbesPassed:        "probes-passed",
	CauseProbesFailed:        "probes-failed",
	CauseHalfOpenTimeout:     "half-open-timeout",
	CauseManual:              "manual",
	CauseExternal:            "external",
	CauseReconfigure:         "reconfigure",
}

// String returns the cause's name in kebab case ("failure-rate").
func (c Cause) String() string {
	if int(c) < len(causeNames) && causeNames[c] != "" {
		return causeNames[c]
	}
	return fmt.Sprintf("Cause(%d)", uint8(c))
}

// A Change is a state change of a [Breaker], as reported to its listeners.
type Change struct {
	Name  string    // the breaker's Config.Name
	From  State     // the state before
	To    State     // the state after
	At    time.Time // when the change happened
	Until time.Time // when To is StateOpen: when the open wait ends
	Cause Cause     // why it happened
}

// mode is how the breaker is run: by its own state machine (enforced or
// not), or by hand.
type mode uint8

const (
	modeAuto mode = iota
	modeMetricsOnly
	modeForcedOpen
	modeForcedClosed
	modeDisabled
)

// What Allow does with a call when it does not reject it.
const (
	admitOff    uint8 = iota // disabled: run it, record and report nothing
	admitWindow              // record it in the window
	admitProbe               // a half-open probe: record it in probes
	admitRun                 // run and report it, record nothing (metrics-only while it would reject)
)

// record is the state of a breaker. A record is immutable once published
// through Breaker.cur, except for probes, whose permits counter is atomic
// and whose other fields are guarded by Breaker.mu. Every state change
// publishes a new record with a new epoch; calls admitted under an older
// epoch are not recorded.
type record struct {
	// The fields Allow reads.
	reject  *OpenError // non-nil: reject every call with it
	quiet   *OpenError // reject, if there is no observer to report to
	plain   bool       // admit to the window without timing
	silent  bool       // plain, and a success needs no observer nor result check
	okFast  bool       // plain, with an observer, and no result check: a clean success only reports ok
	obs     bulwark.Observer
	admit   uint8
	measure bool    // read the clock around calls (slow-call detection)
	probes  *probes // non-nil in (shadow) half-open

	cfg     *settings
	mode    mode
	state   State // the public state
	machine State // the automatic state: closed, open or half-open
	epoch   uint64
	since   time.Time     // when the public state began
	until   time.Time     // machine open: when the wait ends; half-open: when the probe period does
	wait    time.Duration // machine open: the length of this wait
	busy    *OpenError    // half-open with every probe permit handed out
	near    atomic.Bool   // open: in the last stretch of the wait, rejections read the clock

	// ok is the event of an unmeasured success with no error, built once:
	// copying it whole is much cheaper than assembling the event field by
	// field on every call.
	ok bulwark.Event
}

// probes tracks the calls of one half-open period.
type probes struct {
	permits atomic.Int64 // permits handed out (ignored probes give theirs back)
	done    int          // probes recorded; guarded by Breaker.mu
	fails   int
	slow    int
}

// automatic reports whether the automatic state machine runs (enforced or
// in metrics-only mode).
func (r *record) automatic() bool { return r.mode == modeAuto || r.mode == modeMetricsOnly }
