package otelmetrics

import (
	"math"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/bulwark-go/bulwark"
)

// queue is a program's own policy, watched like bulwark's.
type queue struct {
	name  string
	depth atomic.Int64
}

var queueDesc = &bulwark.Description{
	Policy: "queue",
	States: []string{"accepting", "full"},
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
	return "full"
}

func TestWatchCustomPolicy(t *testing.T) {
	m, r := newTest(t)
	q := &queue{name: "jobs"}
	q.depth.Store(7)
	if err := m.Watch(q); err != nil {
		t.Fatal(err)
	}
	ms := collect(t, r)
	for name, want := range map[string][]string{
		"bulwark.queue.depth":   {"name=jobs 7"},
		"bulwark.queue.dropped": {"name=jobs,why=full 3", "name=jobs,why=stale 0"},
		"bulwark.queue.state":   {"name=jobs,state=accepting 0", "name=jobs,state=full 1"},
	} {
		if got := points(t, ms, name); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if _, ok := ms["bulwark.queue.age"]; ok {
		t.Error("bulwark.queue.age reported though it is NaN (does not apply)")
	}
	m.Unwatch(q)
	if _, ok := collect(t, r)["bulwark.queue.depth"]; ok {
		t.Error("bulwark.queue.depth still reported after Unwatch")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}
