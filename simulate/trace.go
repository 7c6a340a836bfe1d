package simulate

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TraceRecord is one recorded request: when it arrived (since the start of
// the trace), how long the dependency took and whether it failed.
type TraceRecord struct {
	At      time.Duration `json:"at" yaml:"-"`
	Latency time.Duration `json:"latency" yaml:"-"`
	Failed  bool          `json:"failed" yaml:"-"`
}

// MaxTraceRecords bounds the records a trace reader accepts.
const MaxTraceRecords = 50_000_000

// TraceError is a problem on one line of a trace.
type TraceError struct {
	Line int
	Msg  string
}

func (e *TraceError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// ReadCSV reads a trace from CSV lines of three fields: timestamp, latency,
// outcome. A first line whose first field is "timestamp" is a header.
//   - timestamp: RFC 3339 ("2025-03-04T10:00:00.125Z") or Unix seconds
//     ("1741082400.125");
//   - latency: a duration ("120ms") or seconds ("0.120");
//   - outcome: "ok", "error", or an HTTP status (5xx is a failure).
//
// Records come back sorted by arrival, with times counted from the first.
func ReadCSV(r io.Reader) ([]TraceRecord, error) {
	var recs []TraceRecord
	var stamps []time.Time
	err := eachLine(r, func(n int, line string) error {
		f := strings.Split(line, ",")
		if len(f) != 3 {
			return &TraceError{n, fmt.Sprintf("want 3 comma-separated fields (timestamp, latency, outcome), got %d", len(f))}
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		if n == 1 && strings.EqualFold(f[0], "timestamp") {
			return nil
		}
		ts, err := parseStamp(f[0])
		if err != nil {
			return &TraceError{n, "timestamp: " + err.Error()}
		}
		lat, err := parseLatency(f[1])
		if err != nil {
			return &TraceError{n, "latency: " + err.Error()}
		}
		failed, err := parseOutcome(f[2])
		if err != nil {
			return &TraceError{n, "outcome: " + err.Error()}
		}
		stamps = append(stamps, ts)
		recs = append(recs, TraceRecord{Latency: lat, Failed: failed})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, &TraceError{1, "a header and no records"}
	}
	return relative(recs, stamps), nil
}

// ReadNginx reads a trace from an nginx access log in the combined format
// followed by $request_time:
//
//	log_format timed '$remote_addr - $remote_user [$time_local] '
//	                 '"$request" $status $body_bytes_sent '
//	                 '"$http_referer" "$http_user_agent" $request_time';
//
// nginx writes $time_local when a request ends, to the second: a request
// arrived $request_time before it, and the requests logged in one second
// are spread evenly over it. A 5xx status is a failure.
func ReadNginx(r io.Reader) ([]TraceRecord, error) {
	var recs []TraceRecord
	var stamps []time.Time
	err := eachLine(r, func(n int, line string) error {
		open := strings.IndexByte(line, '[')
		end := strings.IndexByte(line, ']')
		if open < 0 || end < open {
			return &TraceError{n, "no [time_local]"}
		}
		ts, err := time.Parse("02/Jan/2006:15:04:05 -0700", line[open+1:end])
		if err != nil {
			return &TraceError{n, fmt.Sprintf("time_local %q: want 02/Jan/2006:15:04:05 -0700", line[open+1:end])}
		}
		rest := line[end+1:]
		q1 := strings.IndexByte(rest, '"')
		q2 := -1
		if q1 >= 0 {
			q2 = closingQuote(rest, q1+1)
		}
		if q2 < 0 {
			return &TraceError{n, "no quoted \"$request\""}
		}
		after := strings.Fields(rest[q2+1:])
		if len(after) < 2 {
			return &TraceError{n, "no $status after the request"}
		}
		status, err := strconv.Atoi(after[0])
		if err != nil || status < 100 || status > 999 {
			return &TraceError{n, fmt.Sprintf("status %q is not an HTTP status", after[0])}
		}
		fields := strings.Fields(line)
		rt := fields[len(fields)-1]
		secs, err := strconv.ParseFloat(rt, 64)
		if err != nil || strings.HasSuffix(rt, "\"") || math.IsNaN(secs) || secs < 0 || secs > 86400 {
			return &TraceError{n, fmt.Sprintf("last field %q is not a $request_time in seconds: add $request_time to the log_format", rt)}
		}
		lat := time.Duration(secs * float64(time.Second))
		stamps = append(stamps, ts.Add(-lat))
		recs = append(recs, TraceRecord{Latency: lat, Failed: status >= 500})
		return nil
	})
	if err != nil {
		return nil, err
	}
	spreadSeconds(stamps, recs)
	return relative(recs, stamps), nil
}

// spreadSeconds spreads the requests that end in the same logged second
// evenly over it.
func spreadSeconds(stamps []time.Time, recs []TraceRecord) {
	bySecond := map[int64][]int{}
	for i, ts := range stamps {
		end := ts.Add(recs[i].Latency).Unix()
		bySecond[end] = append(bySecond[end], i)
	}
	for _, idx := range bySecond {
		for k, i := range idx {
			stamps[i] = stamps[i].Add(time.Duration(k) * time.Second / time.Duration(len(idx)))
		}
	}
}

func closingQuote(s string, from int) int {
	for i := from; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

func eachLine(r io.Reader, fn func(n int, line string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n, count := 0, 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if count++; count > MaxTraceRecords {
			return &TraceError{n, fmt.Sprintf("more than %d records", MaxTraceRecords)}
		}
		if err := fn(n, line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return &TraceError{n + 1, err.Error()}
	}
	if count == 0 {
		return &TraceError{n, "no records"}
	}
	return nil
}

func relative(recs []TraceRecord, stamps []time.Time) []TraceRecord {
	first := slices.MinFunc(stamps, time.Time.Compare)
	for i := range recs {
		recs[i].At = stamps[i].Sub(first)
	}
	slices.SortStableFunc(recs, func(a, b TraceRecord) int {
		return int(min(max(a.At-b.At, -1), 1))
	})
	return recs
}

func parseStamp(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 1e11 {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor Unix seconds", s)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

func parseLatency(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 86400 {
		return 0, fmt.Errorf("%q is neither a duration (\"120ms\") nor seconds in [0,86400]", s)
	}
	return time.Duration(f * float64(time.Second)), nil
}

func parseOutcome(s string) (failed bool, err error) {
	switch strings.ToLower(s) {
	case "ok", "success":
		return false, nil
	case "error", "fail", "failed", "failure":
		return true, nil
	}
	if code, err := strconv.Atoi(s); err == nil && code >= 100 && code <= 999 {
		return code >= 500, nil
	}
	return false, fmt.Errorf("%q: want ok, error or an HTTP status", s)
}
