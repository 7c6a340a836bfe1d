package bulkhead

import "github.com/bulwark-go/bulwark"

var description = &bulwark.Description{
	Policy: "bulkhead",
	Figures: []bulwark.Figure{
		{Name: "capacity", Unit: "{permit}", Help: "Permits the bulkhead holds: the calls it lets run at once."},
		{Name: "in_use", Unit: "{permit}", Help: "Permits held now by running calls."},
		{Name: "waiting", Unit: "{call}", Help: "Calls queued for a permit now."},
	},
}

// Describe returns what a Bulkhead reports when watched: its capacity,
// permits in use and calls waiting. It implements [bulwark.Watchable].
func (b *Bulkhead) Describe() *bulwark.Description { return description }

// Collect stores the Bulkhead's current figures in values. It implements
// [bulwark.Watchable].
func (b *Bulkhead) Collect(values []float64) string {
	s := b.Snapshot()
	values[0], values[1], values[2] = float64(s.Capacity), float64(s.InUse), float64(s.Waiting)
	return ""
}
