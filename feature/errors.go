package feature

import (
	"errors"
	"fmt"
)

// Sentinel errors. Use errors.Is; the typed errors below carry the detail.
var (
	// ErrInvalid is matched by every [ValidationError]: the flag file (or an
	// environment override) is not acceptable.
	ErrInvalid = errors.New("feature: invalid flags")
	// ErrNotFound reports an evaluation of a flag that does not exist.
	ErrNotFound = errors.New("feature: flag not found")
	// ErrMissingKey reports an evaluation of a flag with a partial rollout
	// for a target without a key: the rollout cannot place it.
	ErrMissingKey = errors.New("feature: rollout needs a target key")
)

// ValidationError names what is wrong in a flag file: the flag (by name,
// or by position when it has no usable name), the field and the problem.
// It matches [ErrInvalid] with errors.Is.
type ValidationError struct {
	Flag  string // the flag's name; empty for file-level problems
	Index int    // the flag's position in the file, from 0; -1 for file-level problems
	Field string // the field at fault: "type", "rollout", "rules[1].in", "env BULWARK_FLAG_X", ...; "" for the flag as a whole
	Msg   string // what is wrong with it
	Line  int    // the line in the file, from 1; 0 when unknown
}

func (e *ValidationError) Error() string {
	var s string
	switch {
	case e.Flag != "":
		s = fmt.Sprintf("feature: flag %q", e.Flag)
	case e.Index >= 0:
		s = fmt.Sprintf("feature: flag #%d", e.Index+1)
	default:
		s = "feature"
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	s += ": " + e.Msg
	if e.Line > 0 {
		s += fmt.Sprintf(" (line %d)", e.Line)
	}
	return s
}

// Is reports whether target is [ErrInvalid].
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// EvalError reports why a flag could not be evaluated. It unwraps to
// [ErrNotFound] or [ErrMissingKey].
type EvalError struct {
	Flag string
	Err  error
}

func (e *EvalError) Error() string { return fmt.Sprintf("%v: %q", e.Err, e.Flag) }

// Unwrap returns the sentinel error.
func (e *EvalError) Unwrap() error { return e.Err }

// LoadError reports a flag file that could not be read, decoded or
// validated. The flags in force before stay in force.
type LoadError struct {
	Path string
	Err  error
}

func (e *LoadError) Error() string { return fmt.Sprintf("feature: loading %s: %v", e.Path, e.Err) }

// Unwrap returns the cause: an *fs.PathError, a decoding error or a
// validation error (possibly several joined with errors.Join).
func (e *LoadError) Unwrap() error { return e.Err }
