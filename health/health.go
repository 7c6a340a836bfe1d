package health

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"

	"github.com/bulwark-go/bulwark/internal/exporter"
)

// ErrWatched is returned, wrapped, by [Health.Watch] and
// [Health.WatchCritical] for a policy whose kind and name are already
// registered.
var ErrWatched = errors.New("health: already watched")

// The values of Report.Status.
const (
	StatusOK          = "ok"
	StatusUnavailable = "unavailable"
)

// Report is the JSON body both endpoints write.
type Report struct {
	Status   string         `json:"status"` // StatusOK or StatusUnavailable
	Policies []PolicyReport `json:"policies"`
}

// PolicyReport reports one registered policy.
type PolicyReport struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`     // the policy's package: "breaker", "bulkhead", ...
	Critical bool   `json:"critical"` // registered with WatchCritical
	// Ready is false when the policy is critical and in a state that stops
	// it serving.
	Ready bool   `json:"ready"`
	State string `json:"state,omitempty"` // for policies with states, such as a breaker
	// Figures holds the policy's live figures: a number (null if infinite,
	// such as an unlimited rate), or for a figure split by a label (chaos
	// faults by kind), an object of numbers. Figures that do not apply to
	// the policy are left out.
	Figures map[string]any `json:"figures,omitempty"`
}

// Health reports the state of the policies registered with it. It is safe
// for concurrent use; policies may be registered while the handlers serve.
type Health struct {
	entries exporter.Set[bool] // Data: critical
}

// New returns a Health with no policies registered.
func New() *Health { return &Health{} }

// Watch registers policies to report. A policy is any
// [bulwark.Watchable]: every bulwark policy with live figures
// (*breaker.Breaker, *bulkhead.Bulkhead, *adaptive.Limiter,
// *ratelimit.Limiter, *ratelimit.Keyed, *retry.Retry, *timeout.Timeout,
// *fallback.Fallback, *hedge.Hedger, *chaos.Injector, *recovery.Recovery),
// or a program's own. Watch fails, and registers none of them, if one does
// not implement bulwark.Watchable (or its Description is invalid) or has
// the kind and name of a policy already registered.
func (h *Health) Watch(policies ...any) error { return h.watch(false, policies) }

// WatchCritical registers policies like Watch and marks them critical: while
// one of them is in a state that stops it serving (a breaker open), the
// service is not ready.
func (h *Health) WatchCritical(policies ...any) error { return h.watch(true, policies) }

func (h *Health) watch(critical bool, policies []any) error {
	srcs, err := exporter.OfAll(policies)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	entries := make([]exporter.Entry[bool], len(srcs))
	for i, src := range srcs {
		entries[i] = exporter.Entry[bool]{Source: src, Data: critical}
	}
	return h.entries.Add(ErrWatched, entries)
}

// Report reads every registered policy now.
func (h *Health) Report() Report {
	entries := h.entries.List()
	r := Report{Status: StatusOK, Policies: make([]PolicyReport, 0, len(entries))}
	for _, e := range entries {
		k := e.Desc
		values, state := e.Read(nil)
		p := PolicyReport{
			Name: e.Name, Kind: k.Policy, Critical: e.Data, State: state,
			Ready: !e.Data || !k.IsUnready(state),
		}
		if len(k.Figures) > 0 {
			p.Figures = make(map[string]any, len(k.Figures))
		}
		i := 0
		for _, f := range k.Figures {
			key := exporter.HealthKey(f)
			if f.Label == "" {
				if !math.IsNaN(values[i]) { // NaN: does not apply to this policy
					p.Figures[key] = number(values[i])
				}
				i++
				continue
			}
			split := make(map[string]any, len(f.Values))
			for _, v := range f.Values {
				if !math.IsNaN(values[i]) {
					split[v] = number(values[i])
				}
				i++
			}
			p.Figures[key] = split
		}
		if !p.Ready {
			r.Status = StatusUnavailable
		}
		r.Policies = append(r.Policies, p)
	}
	return r
}

// number returns v, or nil (JSON null) if v is infinite (an unlimited rate),
// which JSON cannot carry.
func number(v float64) any {
	if math.IsInf(v, 0) {
		return nil
	}
	return v
}

// Live returns the liveness handler: 200 and the report, whatever the
// policies' states, with status "ok".
func (h *Health) Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r := h.Report()
		r.Status = StatusOK
		write(w, req, http.StatusOK, r)
	})
}

// Ready returns the readiness handler: 200 and the report while every
// critical policy can serve, 503 and the report (status "unavailable")
// while one cannot.
func (h *Health) Ready() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r := h.Report()
		code := http.StatusOK
		if r.Status != StatusOK {
			code = http.StatusServiceUnavailable
		}
		write(w, req, code, r)
	})
}

func write(w http.ResponseWriter, req *http.Request, code int, r Report) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := json.Marshal(r)
	if err != nil { // only numbers and strings: cannot happen
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(code)
	if req.Method == http.MethodGet {
		w.Write(body)
	}
}
