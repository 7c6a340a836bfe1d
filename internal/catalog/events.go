package catalog

import (
	"slices"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/lockorder"
)

// A Metric is one metric counted from events.
type Metric struct {
	// Policy and Name make the metric's names: Prometheus
	// bulwark_<Policy>_<Name> plus _total for a counter or _seconds for a
	// histogram, OpenTelemetry bulwark.<Policy>.<Name>. Policy is empty for
	// bulwark_events_total.
	Policy, Name string
	Help         string
	// Unit is the UCUM unit: "s" for a histogram, "{call}" and the like for
	// a counter.
	Unit string
	// Labels are the metric's labels after "name" (or, for
	// bulwark_events_total, after "policy" and "name").
	Labels    []string
	Histogram bool
}

// PromName returns the metric's Prometheus name.
func (m *Metric) PromName() string {
	n := "bulwark_"
	if m.Policy != "" {
		n += m.Policy + "_"
	}
	n += m.Name
	if m.Histogram {
		return n + "_seconds"
	}
	return n + "_total"
}

// OTelName returns the metric's OpenTelemetry instrument name.
func (m *Metric) OTelName() string {
	if m.Policy == "" {
		return "bulwark." + m.Name
	}
	return "bulwark." + m.Policy + "." + m.Name
}

// A KindMetric counts one kind of event in Metric, with the labels after
// "name" set to Values.
type KindMetric struct {
	Kind   bulwark.Kind
	Metric *Metric
	Values []string
	// Outcome, if set, restricts the row to events of that outcome.
	Outcome bulwark.Outcome
	// ByOutcome adds the event's outcome as the value of the last label,
	// "outcome", after Values; events with no outcome are counted by Other.
	ByOutcome bool
}

// Events lists the metrics one policy's events drive.
type Events struct {
	// Slow, if set, counts the KindCall events marked Slow, by outcome.
	Slow *Metric
	// Transitions, if set, counts KindStateChange events by from and to.
	Transitions *Metric
	// Wait, if set, is a histogram of the Delay of KindWait events.
	Wait *Metric
	// Kinds maps further kinds to counters.
	Kinds []KindMetric
	// Ignore marks a policy whose figures are read from its Snapshot
	// instead: its events are not counted at all.
	Ignore bool
}

// Outcomes are the outcomes of KindCall events, whose String is the value
// of the outcome label.
var Outcomes = []bulwark.Outcome{bulwark.OutcomeSuccess, bulwark.OutcomeFailure, bulwark.OutcomeIgnored}

var (
	breakerCalls = &Metric{Policy: "breaker", Name: "calls", Unit: "{call}", Labels: []string{"outcome"},
		Help: "Calls through the circuit breaker, by outcome: success, failure, ignored, or rejected (not run because the breaker was open or its half-open probes were taken)."}
	breakerSlow = &Metric{Policy: "breaker", Name: "slow_calls", Unit: "{call}", Labels: []string{"outcome"},
		Help: "Calls through the circuit breaker slower than its slow-call threshold, by outcome; each is also counted in bulwark_breaker_calls_total."}
	breakerTransitions = &Metric{Policy: "breaker", Name: "transitions", Unit: "{transition}", Labels: []string{"from", "to"},
		Help: "State transitions of the circuit breaker, by from and to state."}
)

// Policies maps a policy's name, as in bulwark.Event.Policy, to what its
// events count. Events a row does not name are counted by Other.
var Policies = map[string]*Events{
	"breaker": {
		Slow: breakerSlow, Transitions: breakerTransitions,
		Kinds: []KindMetric{
			{Kind: bulwark.KindCall, Metric: breakerCalls, ByOutcome: true},
			{Kind: bulwark.KindRejected, Metric: breakerCalls, Values: []string{"rejected"}},
		},
	},
	"retry": {Kinds: []KindMetric{
		{Kind: bulwark.KindRetry, Metric: &Metric{Policy: "retry", Name: "retries", Unit: "{retry}",
			Help: "Retries started: attempts after the first."}},
		{Kind: bulwark.KindExhausted, Metric: &Metric{Policy: "retry", Name: "exhausted", Unit: "{call}",
			Help: "Calls the retry policy gave up on (attempts, time or budget spent)."}},
		{Kind: bulwark.KindBudgetExhausted, Metric: &Metric{Policy: "retry", Name: "budget_rejections", Unit: "{retry}",
			Help: "Retries the retry budget refused."}},
	}},
	"timeout": {Kinds: []KindMetric{
		{Kind: bulwark.KindTimeout, Metric: &Metric{Policy: "timeout", Name: "exceeded", Unit: "{call}",
			Help: "Calls that ran past their timeout."}},
	}},
	"fallback": {Kinds: []KindMetric{
		{Kind: bulwark.KindFallback, Outcome: bulwark.OutcomeSuccess, Metric: &Metric{Policy: "fallback", Name: "served", Unit: "{call}",
			Help: "Results a fallback served in place of an error."}},
		{Kind: bulwark.KindFallback, Outcome: bulwark.OutcomeFailure, Metric: &Metric{Policy: "fallback", Name: "failed", Unit: "{call}",
			Help: "Fallbacks that ran and failed themselves, so the call failed."}},
	}},
	"bulkhead": {
		Wait: &Metric{Policy: "bulkhead", Name: "wait", Unit: "s", Histogram: true,
			Help: "Time calls waited in the bulkhead's queue before they were admitted."},
		Kinds: []KindMetric{
			{Kind: bulwark.KindCall, ByOutcome: true, Metric: &Metric{Policy: "bulkhead", Name: "calls", Unit: "{call}", Labels: []string{"outcome"},
				Help: "Calls the bulkhead admitted and ran, by outcome: success, failure, or ignored (the caller's own cancellation)."}},
			{Kind: bulwark.KindRejected, Metric: &Metric{Policy: "bulkhead", Name: "rejected", Unit: "{call}",
				Help: "Calls the bulkhead refused because it was full."}},
		},
	},
	"ratelimit": {
		Wait: &Metric{Policy: "ratelimit", Name: "wait", Unit: "s", Histogram: true,
			Help: "Time calls waited for the rate limiter before they were admitted."},
		Kinds: []KindMetric{
			{Kind: bulwark.KindRejected, Metric: &Metric{Policy: "ratelimit", Name: "rejected", Unit: "{call}",
				Help: "Calls the rate limiter refused."}},
		},
	},
	"adaptive": {
		Wait: &Metric{Policy: "adaptive", Name: "wait", Unit: "s", Histogram: true,
			Help: "Time calls waited in the adaptive limiter's queue before they were admitted."},
		Kinds: []KindMetric{
			{Kind: bulwark.KindCall, ByOutcome: true, Metric: &Metric{Policy: "adaptive", Name: "calls", Unit: "{call}", Labels: []string{"outcome"},
				Help: "Calls the adaptive concurrency limiter admitted and saw finish, by outcome: success, failure, or ignored."}},
			{Kind: bulwark.KindRejected, Metric: &Metric{Policy: "adaptive", Name: "shed", Unit: "{call}",
				Help: "Calls the adaptive concurrency limiter shed: refused at its limit, timed out in its queue, or pushed out of it."}},
		},
	},
	"hedge": {Kinds: []KindMetric{
		{Kind: bulwark.KindHedge, Metric: &Metric{Policy: "hedge", Name: "started", Unit: "{attempt}",
			Help: "Hedged attempts started (attempts after the first)."}},
		{Kind: bulwark.KindHedgeWon, Metric: &Metric{Policy: "hedge", Name: "won", Unit: "{call}",
			Help: "Calls whose result came from a hedged attempt rather than the first."}},
		{Kind: bulwark.KindBudgetExhausted, Metric: &Metric{Policy: "hedge", Name: "budget_rejections", Unit: "{attempt}",
			Help: "Hedged attempts the hedge budget refused."}},
	}},
	"recovery": {Kinds: []KindMetric{
		{Kind: bulwark.KindPanic, Metric: &Metric{Policy: "recovery", Name: "panics", Unit: "{panic}",
			Help: "Panics recovered and turned into errors."}},
	}},
	"lockorder": {Kinds: []KindMetric{
		{Kind: lockorder.KindInversion, Metric: &Metric{Policy: "lockorder", Name: "inversions", Unit: "{inversion}",
			Help: "Lock-order inversions detected."}},
		{Kind: lockorder.KindLongWait, Metric: &Metric{Policy: "lockorder", Name: "long_waits", Unit: "{wait}",
			Help: "Lock waits longer than the reporting threshold."}},
	}},
	"chaos": {Ignore: true},
}

// Other counts the events no row of Policies covers.
var Other = &Metric{Name: "events", Unit: "{event}", Labels: []string{"kind"},
	Help: "Events that no dedicated bulwark metric counts, by policy, name and kind."}

// Pipeline is the duration histogram of calls through a named pipeline.
var Pipeline = &Metric{Policy: "pipeline", Name: "duration", Unit: "s", Histogram: true, Labels: []string{"outcome"},
	Help: "Duration of calls through a named pipeline, by outcome: success, failure, or ignored (the caller's own cancellation)."}

// EventMetrics returns every metric counted from events, each once, Other
// and Pipeline last.
func EventMetrics() []*Metric {
	var out []*Metric
	seen := map[*Metric]bool{}
	add := func(m *Metric) {
		if m != nil && !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	for _, p := range sortedPolicies() {
		e := Policies[p]
		add(e.Slow)
		add(e.Transitions)
		add(e.Wait)
		for _, k := range e.Kinds {
			add(k.Metric)
		}
	}
	add(Other)
	add(Pipeline)
	return out
}

func sortedPolicies() []string {
	var ps []string
	for p := range Policies {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// NumKinds bounds the Kind values the exporters keep a table of counters
// for: those bulwark defines and the first few that packages register with
// bulwark.NewKind (lockorder's). Events of a kind past it are counted in
// Other through a lookup. NumOutcomes bounds the Outcome values (0 is
// "unknown").
const (
	NumKinds    = 32
	NumOutcomes = int(bulwark.OutcomeIgnored) + 1
)

// A Slot is the counter an event of one kind and outcome adds to: Metric,
// with the labels after "name" set to Values.
type Slot struct {
	Metric *Metric
	Values []string
}

// Slots returns, for each kind and outcome, the counter the policy's events
// of that kind and outcome add to, or nil where Other counts them. Outcomes
// that add to the same series share one *Slot.
func (e *Events) Slots() (slots [NumKinds][NumOutcomes]*Slot) {
	for _, k := range e.Kinds {
		var shared *Slot // the row's one series, unless ByOutcome
		if !k.ByOutcome {
			shared = &Slot{Metric: k.Metric, Values: k.Values}
		}
		for o := range NumOutcomes {
			switch {
			case k.ByOutcome && o == 0:
				continue
			case k.ByOutcome:
				v := append(append([]string(nil), k.Values...), bulwark.Outcome(o).String())
				slots[k.Kind][o] = &Slot{Metric: k.Metric, Values: v}
			case k.Outcome == 0 || int(k.Outcome) == o:
				slots[k.Kind][o] = shared
			}
		}
	}
	return slots
}

// Counters resolves the policy's Slots into an exporter's counters: mk is
// called once per distinct series, and the table holds its counter at every
// kind and outcome that adds to that series, and the zero C where Other
// counts the events.
func Counters[C any](e *Events, mk func(*Slot) C) (t [NumKinds][NumOutcomes]C) {
	slots := e.Slots()
	made := map[*Slot]C{}
	for k := range slots {
		for o, slot := range slots[k] {
			if slot == nil {
				continue
			}
			c, ok := made[slot]
			if !ok {
				c = mk(slot)
				made[slot] = c
			}
			t[k][o] = c
		}
	}
	return t
}
