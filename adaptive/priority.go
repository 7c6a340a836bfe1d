package adaptive

import (
	"context"
	"fmt"
)

// Priority says how important a call is. Under overload, low-priority calls
// are shed first and critical calls last: each priority may fill a different
// share of the limit.
//
//	PriorityLow:      half the limit (at least 1)
//	PriorityNormal:   the limit
//	PriorityCritical: the limit plus a reserve of a tenth (at least 1)
//
// So when the limit falls, low-priority calls are refused while normal ones
// still get in, and critical calls keep a reserve that normal ones cannot
// take. Values below PriorityLow count as PriorityLow, and values above
// PriorityCritical as PriorityCritical.
type Priority int8

// The priorities. The zero value is PriorityNormal.
const (
	PriorityLow      Priority = -1 // batch work, prefetches, retries that can wait
	PriorityNormal   Priority = 0  // the default
	PriorityCritical Priority = 1  // health checks, payments, whatever must get through
)

// String returns "low", "normal" or "critical".
func (p Priority) String() string {
	switch p.level() {
	case levelLow:
		return "low"
	case levelCritical:
		return "critical"
	}
	return "normal"
}

// GoString returns the Go name of p, or Priority(n) for other values.
func (p Priority) GoString() string {
	switch p {
	case PriorityLow:
		return "adaptive.PriorityLow"
	case PriorityNormal:
		return "adaptive.PriorityNormal"
	case PriorityCritical:
		return "adaptive.PriorityCritical"
	}
	return fmt.Sprintf("adaptive.Priority(%d)", int8(p))
}

// The priority levels, as indexes.
const (
	levelLow = iota
	levelNormal
	levelCritical
	levels
)

func (p Priority) level() int {
	switch {
	case p < PriorityNormal:
		return levelLow
	case p > PriorityNormal:
		return levelCritical
	}
	return levelNormal
}

// allowance returns how many calls of a level may be in flight under limit.
func allowance(level, limit int) int {
	switch level {
	case levelLow:
		return max(1, limit/2)
	case levelCritical:
		return limit + max(1, limit/10)
	}
	return limit
}

type priorityKey struct{}

// WithPriority returns a context that makes [Limiter.Execute] and
// [Limiter.Acquire] treat the call as having priority p.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityFrom returns the priority set on ctx by [WithPriority], or
// PriorityNormal.
func PriorityFrom(ctx context.Context) Priority {
	p, _ := ctx.Value(priorityKey{}).(Priority)
	return p
}
