// Package report draws results as a Markdown table and as SVG charts, with
// the standard library only: line charts (latency over time), stacked
// charts (outcomes over time), both with shaded phases, laid out side by
// side in a Figure. The fault-scenario suite (internal/faultsuite) writes
// docs/scenarios/ with it; the simulator reuses it, so the same story reads
// the same way whichever produced it.
//
//	fig := report.Figure{Title: "outage", Columns: 2, Panels: []report.Panel{
//		report.LineChart{Title: "p99 latency", YUnit: "ms", LogY: true, Bands: phases, Series: lines},
//		report.StackChart{Title: "outcomes", Bands: phases, X: starts, Step: 1, Layers: layers},
//	}}
//	err := os.WriteFile("outage.svg", fig.SVG(), 0o644)
//
// Output is deterministic: the same input gives byte-identical SVG and
// Markdown, so generated files can be compared in tests and in review.
//
// Values of the types here are plain data; none is mutated by drawing, and
// all are safe to draw from several goroutines at once.
package report
