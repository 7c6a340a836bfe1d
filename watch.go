package bulwark

import "slices"

// Watchable is implemented by a policy whose live figures can be watched:
// prommetrics, otelmetrics and health read them, at scrape time, from any
// value that implements it, bulwark's policies or a program's own. It has
// the shape of prometheus.Collector: Describe says once what the policy
// reports, and Collect reports the current values.
//
// The figures' names follow from the Description: the Prometheus gauge of
// figure f is bulwark_<Policy>_<f.Name> (with _seconds if f.Unit is "s" and
// _total for a counter), the OpenTelemetry instrument
// bulwark.<Policy>.<f.Name>, and the health report's key f.Name (with
// _seconds if f.Unit is "s"). The policy's Name labels every value.
//
// Collect is called concurrently with the policy's own use and with other
// Collect calls, so an implementation must be safe for concurrent use.
type Watchable interface {
	// Name returns the policy instance's name, which labels its values.
	Name() string
	// Describe returns what this kind of policy reports. It must return
	// the same *Description on every call, and every policy of one kind
	// (one Description.Policy) must return the same one: exporters make
	// their gauges once per Description.
	Describe() *Description
	// Collect stores the current value of each figure of Describe().Figures,
	// in order, in values, which has Describe().Width() elements, and
	// returns the current state ("" if the Description has no States). A
	// figure that does not apply to this instance is NaN, and exporters
	// leave it out. Collect should not allocate: it runs on every scrape.
	Collect(values []float64) (state string)
}

// A Description says what one kind of [Watchable] policy reports.
// Descriptions are shared and must not be changed once a policy returned
// one from Describe.
type Description struct {
	// Policy is the kind of policy, as in [Event].Policy: "breaker",
	// "bulkhead", ... It makes the figures' names, so it is snake case.
	Policy string
	// States lists every state the policy can be in, or is nil if it has
	// none. Exporters report a 0/1 gauge per state
	// (bulwark_<Policy>_state{state}).
	States []string
	// Unready lists the states, among States, in which a policy watched as
	// critical makes a service unready (health.Health.WatchCritical).
	Unready []string
	// Figures lists the values Collect reports, in order.
	Figures []Figure
}

// Width is the number of values Collect stores: the sum of the figures'
// widths.
func (d *Description) Width() int {
	n := 0
	for _, f := range d.Figures {
		n += f.Width()
	}
	return n
}

// IsUnready reports whether state is one of d.Unready.
func (d *Description) IsUnready(state string) bool { return slices.Contains(d.Unready, state) }

// A Figure describes one value, or one value per label value, that a
// [Watchable] policy reports.
type Figure struct {
	// Name is the figure's snake-case name ("failure_ratio").
	Name string
	// Help says what the figure is, in a sentence.
	Help string
	// Unit is the UCUM unit: "1" for a ratio or a dimensionless number,
	// "s" for seconds, "{call}" for a count of calls.
	Unit string
	// Counter marks a count since the policy was made, which only grows;
	// otherwise the figure is a gauge.
	Counter bool
	// Label, if set, splits the figure into one value per element of
	// Values, labelled Label (chaos's faults by kind).
	Label  string
	Values []string
}

// Width is the number of values the figure has: len(Values) if it has a
// Label, else 1.
func (f Figure) Width() int {
	if f.Label == "" {
		return 1
	}
	return len(f.Values)
}
