package ratelimit

// Synchronous reports true: the limiter calls its Operation only before
// Execute returns, so a [bulwark.Chain] of such policies reuses its
// per-call state. See [bulwark.Synchronous].
func (l *Limiter) Synchronous() bool { return true }
