package prommetrics

import (
	"math"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bulwark-go/bulwark"
)

// queue is a program's own policy, watched like bulwark's.
type queue struct {
	name  string
	depth atomic.Int64
	full  atomic.Bool
}

var queueDesc = &bulwark.Description{
	Policy:  "queue",
	States:  []string{"accepting", "full"},
	Unready: []string{"full"},
	Figures: []bulwark.Figure{
		{Name: "depth", Unit: "{item}", Help: "Items in the queue."},
		{Name: "age", Unit: "s", Help: "Age of the oldest item (none while empty)."},
		{Name: "dropped", Unit: "{item}", Counter: true, Label: "why", Values: []string{"full", "stale"}, Help: "Items dropped, by why."},
	},
}

func (q *queue) Name() string                   { return q.name }
func (q *queue) Describe() *bulwark.Description { return queueDesc }
func (q *queue) Collect(v []float64) string {
	v[0], v[1], v[2], v[3] = float64(q.depth.Load()), math.NaN(), 3, 0
	if q.full.Load() {
		return "full"
	}
	return "accepting"
}

func TestWatchCustomPolicy(t *testing.T) {
	m, reg := newTest(t)
	q := &queue{name: "jobs"}
	q.depth.Store(7)
	if err := m.Watch(q); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP bulwark_queue_depth Items in the queue.
# TYPE bulwark_queue_depth gauge
bulwark_queue_depth{name="jobs"} 7
# HELP bulwark_queue_dropped_total Items dropped, by why.
# TYPE bulwark_queue_dropped_total counter
bulwark_queue_dropped_total{name="jobs",why="full"} 3
bulwark_queue_dropped_total{name="jobs",why="stale"} 0
# HELP bulwark_queue_state 1 for the state the queue is in, 0 for the others.
# TYPE bulwark_queue_state gauge
bulwark_queue_state{name="jobs",state="accepting"} 1
bulwark_queue_state{name="jobs",state="full"} 0
`
	// bulwark_queue_age_seconds is NaN (does not apply) and left out.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"bulwark_queue_depth", "bulwark_queue_age_seconds", "bulwark_queue_dropped_total", "bulwark_queue_state"); err != nil {
		t.Error(err)
	}
	m.Unwatch(q)
	if n, err := testutil.GatherAndCount(reg, "bulwark_queue_depth"); err != nil || n != 0 {
		t.Errorf("after Unwatch: %d series, %v; want none", n, err)
	}
	// Its events are counted in bulwark_events_total, as any policy's
	// that the catalog has no row for.
	m.Observe(bulwark.Event{Kind: bulwark.KindRejected, Policy: "queue", Name: "jobs"})
	if n, err := testutil.GatherAndCount(reg, "bulwark_events_total"); err != nil || n != 1 {
		t.Errorf("bulwark_events_total: %d series, %v; want 1", n, err)
	}
}

type clashing struct{ queue }

var clashDesc = &bulwark.Description{Policy: "bulkhead", Figures: []bulwark.Figure{
	{Name: "rejected", Unit: "{call}", Counter: true, Help: "Clashes with the event counter bulwark_bulkhead_rejected_total."},
}}

func (c *clashing) Describe() *bulwark.Description { return clashDesc }
func (c *clashing) Collect(v []float64) string     { v[0] = 1; return "" }

type otherQueue struct{ queue }

func (o *otherQueue) Describe() *bulwark.Description { return &bulwark.Description{Policy: "queue"} }

func TestWatchRefusesClashingDescriptions(t *testing.T) {
	m, _ := newTest(t)
	if err := m.Watch(&clashing{queue{name: "x"}}); err == nil || !strings.Contains(err.Error(), "registering the gauges") {
		t.Errorf("Watch of a policy whose gauge clashes with an event counter: %v; want a registration error", err)
	}
	if err := m.Watch(&queue{name: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Watch(&otherQueue{queue{name: "b"}}); err == nil || !strings.Contains(err.Error(), `two Descriptions of policy "queue"`) {
		t.Errorf("Watch of a second Description of queue: %v", err)
	}
}
