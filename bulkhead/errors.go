package bulkhead

import (
	"errors"
	"fmt"

	"github.com/bulwark-go/bulwark"
)

// ErrFull is the sentinel every rejection matches: errors.Is(err,
// bulkhead.ErrFull) reports that a bulkhead turned a call away because all
// its permits were in use (and, when waiting is allowed, stayed in use for
// Config.MaxWait).
var ErrFull = errors.New("bulkhead: full")

// FullError is the error a [Bulkhead] returns when it turns a call away. It
// matches [ErrFull] through Unwrap, and [bulwark.ErrRejected].
//
// A bulkhead returns the same *FullError value to every call it rejects
// while its capacity stays the same, so that a rejection does not allocate:
// treat it as read-only.
type FullError struct {
	Name     string // the bulkhead's Config.Name
	Capacity int    // the number of permits when the call was turned away
}

func (e *FullError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("bulkhead: full (%d concurrent calls)", e.Capacity)
	}
	return fmt.Sprintf("bulkhead %q: full (%d concurrent calls)", e.Name, e.Capacity)
}

// Unwrap returns [ErrFull].
func (e *FullError) Unwrap() error { return ErrFull }

// Is reports whether target is [bulwark.ErrRejected]: the call was refused
// locally and did not run.
func (e *FullError) Is(target error) bool { return target == bulwark.ErrRejected }
