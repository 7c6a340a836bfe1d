package recovery

import "github.com/bulwark-go/bulwark"

// description has no figures: a Recovery's panics are counted from its
// events, and watching it makes bulwark_recovery_panics_total start at zero.
var description = &bulwark.Description{Policy: "recovery"}

// Describe returns what a Recovery reports when watched: no figures of its
// own (its panics are counted from its events). It implements
// [bulwark.Watchable].
func (r *Recovery) Describe() *bulwark.Description { return description }

// Collect stores nothing. It implements [bulwark.Watchable].
func (r *Recovery) Collect([]float64) string { return "" }
