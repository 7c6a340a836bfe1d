package lockorder

import (
	"bytes"
	"runtime"
	"strconv"
	"sync/atomic"
)

var lastID atomic.Uint64

// assignID returns *id, giving it the next free number on first use.
func assignID(id *atomic.Uint64) uint64 {
	if v := id.Load(); v != 0 {
		return v
	}
	id.CompareAndSwap(0, lastID.Add(1))
	return id.Load()
}

const selfPrefix = "github.com/bulwark-go/bulwark/lockorder."

// callerStack returns the calling goroutine's stack without the frames of
// this package, and the goroutine's id, read from the stack's first line
// ("goroutine 42 [running]:"). Only the checker calls it.
func callerStack() (stack []byte, goid int64) {
	buf := make([]byte, 4096)
	for {
		n := runtime.Stack(buf, false)
		if n < len(buf) || len(buf) >= 1<<20 {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	header, rest, _ := bytes.Cut(buf, []byte("\n"))
	goid = parseGoid(header)
	// Frames are two lines each: "pkg.func(args)" and "\tfile:line".
	for bytes.HasPrefix(rest, []byte(selfPrefix)) {
		_, after, ok := bytes.Cut(rest, []byte("\n"))
		if !ok {
			break
		}
		_, after, ok = bytes.Cut(after, []byte("\n"))
		if !ok {
			break
		}
		rest = after
	}
	stack = make([]byte, 0, len(header)+1+len(rest))
	stack = append(append(append(stack, header...), '\n'), rest...)
	return stack, goid
}

// parseGoid reads N from "goroutine N [...".
func parseGoid(header []byte) int64 {
	s, ok := bytes.CutPrefix(header, []byte("goroutine "))
	if !ok {
		return 0
	}
	if i := bytes.IndexByte(s, ' '); i >= 0 {
		s = s[:i]
	}
	id, _ := strconv.ParseInt(string(s), 10, 64)
	return id
}

// currentGoid returns the calling goroutine's id from the first line of its
// stack.
func currentGoid() int64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	header, _, _ := bytes.Cut(buf[:n], []byte("\n"))
	return parseGoid(header)
}
