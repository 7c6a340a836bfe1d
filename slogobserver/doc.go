// Package slogobserver writes what bulwark's policies report as log/slog
// records: a breaker changing state, a retry, retries running out, a call
// rejected, a panic recovered.
//
// An Observer is a [bulwark.Observer]; set it as the Observer of each policy,
// alone or next to a metrics observer with [bulwark.Observers]:
//
//	logs, err := slogobserver.New(slogobserver.Config{Logger: logger})
//	...
//	br, err := breaker.New(breaker.Config{Name: "db", Observer: bulwark.Observers(metrics, logs)})
//
// # Levels
//
// Each kind of event has a level; a record is built only when the logger is
// enabled for it, so debug-level events cost one Enabled check in
// production. [DefaultLevels] gives the defaults (state changes at Warn,
// recovered panics at Error, ...); Config.Levels changes any of them, and
// the level [Off] silences a kind.
//
// # Records
//
// Every record has the attributes policy (the policy's kind: "breaker") and
// name (its configured name), then those the event fills in: from and to,
// outcome, slow, attempt, delay, duration, error, and stack (as a string).
package slogobserver
