package exporter

import "github.com/bulwark-go/bulwark"

// PromName returns the Prometheus name of figure f of d.
func PromName(d *bulwark.Description, f bulwark.Figure) string {
	n := "bulwark_" + d.Policy + "_" + f.Name
	if f.Unit == "s" {
		n += "_seconds"
	}
	if f.Counter {
		n += "_total"
	}
	return n
}

// OTelName returns the OpenTelemetry instrument name of figure f of d.
func OTelName(d *bulwark.Description, f bulwark.Figure) string {
	return "bulwark." + d.Policy + "." + f.Name
}

// StatePromName returns the Prometheus name of d's state gauge.
func StatePromName(d *bulwark.Description) string { return "bulwark_" + d.Policy + "_state" }

// StateOTelName returns the OpenTelemetry name of d's state gauge.
func StateOTelName(d *bulwark.Description) string { return "bulwark." + d.Policy + ".state" }

// StateHelp is the help text of d's state gauge.
func StateHelp(d *bulwark.Description) string {
	return "1 for the state the " + d.Policy + " is in, 0 for the others."
}

// HealthKey returns the key of figure f in the health report.
func HealthKey(f bulwark.Figure) string {
	if f.Unit == "s" {
		return f.Name + "_seconds"
	}
	return f.Name
}
