package sidecar

import (
	"errors"
	"strconv"
	"strings"
)

// ErrConfig is matched (errors.Is) by every error ParseConfig and
// LoadConfig return for a config that is malformed or invalid.
var ErrConfig = errors.New("sidecar: invalid config")

// ErrNoBreaker is matched by the error of a breaker operation on a route
// that has no breaker.
var ErrNoBreaker = errors.New("sidecar: route has no breaker")

// ErrNoRoute is matched by the error of an operation on a route that does
// not exist.
var ErrNoRoute = errors.New("sidecar: no such route")

// ConfigError is one problem in a config file, named by its key path
// ("routes[1].breaker.failure_rate"); Path is empty for a problem with the
// whole file (a YAML syntax error).
type ConfigError struct {
	Path   string // key path, empty for the whole file
	Line   int    // line in the file, 0 when unknown
	Column int    // column in the line (1 for its first byte), 0 when unknown
	Msg    string // what is wrong
}

// Error returns "path: msg (line N)", or "msg (line N, column M)".
func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Line > 0 {
		b.WriteString(" (line ")
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(", column ")
			b.WriteString(strconv.Itoa(e.Column))
		}
		b.WriteString(")")
	}
	return b.String()
}

// Is reports whether target is ErrConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// ConfigErrors lists every problem found in a config file, in file order.
type ConfigErrors []*ConfigError

// Error joins the problems, one a line.
func (es ConfigErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, for errors.As and errors.Is.
func (es ConfigErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Is reports whether target is ErrConfig.
func (es ConfigErrors) Is(target error) bool { return target == ErrConfig }
