//go:build !unix || aix

package rawsock

import "errors"

const supported = false

var errUnsupported = errors.ErrUnsupported

// Read is not used here: Of returns nil.
func Read(uintptr, []byte) (int, bool, error) { return 0, false, errUnsupported }

// Write is not used here: Of returns nil.
func Write(uintptr, []byte) (int, bool, error) { return 0, false, errUnsupported }

// Peek is not used here: Of returns nil.
func Peek(uintptr) (data, open bool) { return false, true }
