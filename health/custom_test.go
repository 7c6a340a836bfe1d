package health

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/bulwark-go/bulwark"
)

// queue is a program's own policy, reported like bulwark's.
type queue struct {
	name string
	full atomic.Bool
}

var queueDesc = &bulwark.Description{
	Policy:  "queue",
	States:  []string{"accepting", "full"},
	Unready: []string{"full"},
	Figures: []bulwark.Figure{
		{Name: "depth", Unit: "{item}", Help: "Items in the queue."},
		{Name: "age", Unit: "s", Help: "Age of the oldest item."},
		{Name: "tokens", Unit: "1", Help: "Does not apply: NaN."},
	},
}

func (q *queue) Name() string                   { return q.name }
func (q *queue) Describe() *bulwark.Description { return queueDesc }
func (q *queue) Collect(v []float64) string {
	v[0], v[1], v[2] = 4, 0.5, math.NaN()
	if q.full.Load() {
		return "full"
	}
	return "accepting"
}

func TestCustomPolicy(t *testing.T) {
	q := &queue{name: "jobs"}
	h := New()
	if err := h.WatchCritical(q); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		full bool
		code int
	}{{false, http.StatusOK}, {true, http.StatusServiceUnavailable}} {
		q.full.Store(tt.full)
		rec := httptest.NewRecorder()
		h.Ready().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ready", nil))
		if rec.Code != tt.code {
			t.Errorf("full=%v: Ready answered %d, want %d", tt.full, rec.Code, tt.code)
		}
		var r Report
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		p := r.Policies[0]
		if p.Kind != "queue" || p.Name != "jobs" || p.Figures["depth"] != 4.0 || p.Figures["age_seconds"] != 0.5 {
			t.Errorf("full=%v: report %+v", tt.full, p)
		}
		if _, ok := p.Figures["tokens"]; ok {
			t.Errorf("full=%v: NaN figure reported: %+v", tt.full, p.Figures)
		}
	}
	h.Unwatch(q)
	if got := len(h.Report().Policies); got != 0 {
		t.Errorf("after Unwatch: %d policies reported", got)
	}
}
