package simulate

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"
)

// Dependency is the simulated dependency. Each [Dependency.Call] is one
// request reaching it; [Dependency.Transport] makes it an HTTP upstream.
// It is safe for concurrent use.
type Dependency struct {
	s     *Sim
	busy  int     // calls being served
	queue []*call // calls waiting for capacity, oldest first
}

type call struct {
	done chan struct{}
	err  error
	lat  time.Duration
	gone bool // the caller stopped waiting
}

// Call is one request to the dependency: it returns after the latency of
// the phase in force (plus any queueing), with nil or [ErrFailed], at once
// with [ErrRefused] while the dependency refuses, or with ctx's error when
// ctx ends first.
func (d *Dependency) Call(ctx context.Context) error {
	s := d.s
	s.mu.Lock()
	now := s.now()
	s.rec.rows[s.rec.bucket(now, s.sc.Bucket)].attempts++
	c := &call{done: make(chan struct{})}
	if rec, ok := ctx.Value(traceKey{}).(*TraceRecord); ok {
		c.lat = rec.Latency
		if rec.Failed {
			c.err = ErrFailed
		}
		s.at(now+c.lat, func() { close(c.done) })
	} else {
		p := &s.sc.Dependency[phaseAt(s.sc.Dependency, now)]
		if p.outage() {
			s.rec.outageAttempts++
		}
		switch {
		case p.Refuse:
			s.mu.Unlock()
			return ErrRefused
		case p.Hang:
		default:
			c.lat = p.Latency.sample(s.rng)
			if p.ErrorRate > 0 && s.rng.Float64() < p.ErrorRate {
				c.err = ErrFailed
			}
			d.queue = append(d.queue, c)
			d.pump()
		}
	}
	s.mu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		s.mu.Lock()
		c.gone = true
		s.mu.Unlock()
		return ctx.Err()
	}
}

// pump starts queued calls while the phase in force has capacity. The
// caller holds s.mu.
func (d *Dependency) pump() {
	s := d.s
	now := s.now()
	capacity := s.sc.Dependency[phaseAt(s.sc.Dependency, now)].Capacity
	for len(d.queue) > 0 && (capacity == 0 || d.busy < capacity) {
		c := d.queue[0]
		d.queue[0] = nil
		d.queue = d.queue[1:]
		if c.gone {
			continue // its caller left while it queued: never served
		}
		d.busy++
		s.at(now+c.lat, func() {
			d.busy--
			close(c.done)
			d.pump()
		})
	}
}

// Transport returns the dependency as an HTTP upstream: each round trip is
// a [Dependency.Call], answered 200, or 503 for [ErrFailed], or failing
// with the call's error.
func (d *Dependency) Transport() http.RoundTripper { return transport{d} }

type transport struct{ d *Dependency }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	code := http.StatusOK
	switch err := t.d.Call(req.Context()); err {
	case nil:
	case ErrFailed:
		code = http.StatusServiceUnavailable
	default:
		return nil, err
	}
	return &http.Response{
		Status: http.StatusText(code), StatusCode: code,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), ContentLength: 0,
		Request: req,
	}, nil
}
