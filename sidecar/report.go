package sidecar

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// capErrors keeps the first MaxReportedErrors problems and counts the rest
// (and dropped, those not even collected) in a last one.
func capErrors(errs ConfigErrors, dropped int) ConfigErrors {
	if len(errs) > MaxReportedErrors {
		dropped += len(errs) - MaxReportedErrors
		errs = errs[:MaxReportedErrors:MaxReportedErrors]
	}
	if dropped > 0 {
		errs = append(errs, &ConfigError{Msg: fmt.Sprintf("... and %d more errors", dropped)})
	}
	return errs
}

// mergeErrors returns the decoder's and the validator's problems in file
// order (those without a line first).
func mergeErrors(a, b ConfigErrors) ConfigErrors {
	out := make(ConfigErrors, 0, len(a)+len(b))
	out = append(append(out, a...), b...)
	slices.SortStableFunc(out, func(x, y *ConfigError) int { return cmp.Compare(x.Line, y.Line) })
	return out
}

// related reports whether key paths p and q are the same, or one is inside
// the other ("routes[0].breaker" and "routes[0].breaker.wait").
func related(p, q string) bool {
	if q == "" {
		return true // the whole document was refused
	}
	// A refused merge key leaves its whole mapping undecoded.
	q = strings.TrimSuffix(q, ".<<")
	inside := func(a, b string) bool {
		return b != "" && strings.HasPrefix(a, b) && (len(a) == len(b) || a[len(b)] == '.' || a[len(b)] == '[')
	}
	return inside(p, q) || inside(q, p)
}

var yamlLine = regexp.MustCompile(`^line (\d+): `)

// maxSyntaxSearch bounds the size of a file whose syntax error is located
// by parsing prefixes of it; a larger one keeps the YAML parser's line.
const maxSyntaxSearch = 256 << 10

// syntaxError turns the YAML parser's error into a ConfigError with the
// line and column of the problem. The parser names the line where the
// enclosing block starts (a bad indent on line 8 of a block that starts on
// line 2 is "line 2"), so the line is found again: it is the first line
// whose prefix of the file no longer parses, with every longer prefix
// failing as well (a prefix that ends inside a multi-line flow list fails
// too, and is passed over).
func syntaxError(data []byte, err error) *ConfigError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &ConfigError{Msg: msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = msg[len(m[0]):]
	}
	if len(data) > maxSyntaxSearch {
		return e
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	parses := func(k int) bool {
		return yamlParses(bytes.Join(lines[:k], nil))
	}
	lo, hi := 0, len(lines) // parses(lo), !parses(hi)
	if e.Line > 1 && e.Line-1 <= len(lines) && parses(e.Line-1) {
		lo = e.Line - 1
	}
	for range 4 {
		for hi-lo > 1 {
			mid := lo + (hi-lo)/2
			if parses(mid) {
				lo = mid
			} else {
				hi = mid
			}
		}
		later := 0
		for j := hi + 1; j <= min(hi+5, len(lines)-1); j++ {
			if parses(j) {
				later = j
			}
		}
		if later == 0 {
			break
		}
		lo, hi = later, len(lines)
	}
	if hi < 1 || hi > len(lines) {
		return e
	}
	e.Line = hi
	line := lines[hi-1]
	e.Column = len(line) - len(bytes.TrimLeft(line, " \t")) + 1
	if t := bytes.IndexByte(line, '\t'); t >= 0 && strings.Contains(msg, "tab") {
		e.Column = t + 1
	}
	return e
}

// yamlParses reports whether data is a YAML stream the parser accepts.
func yamlParses(data []byte) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for range 16 {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return errors.Is(err, io.EOF)
		}
	}
	return true
}
