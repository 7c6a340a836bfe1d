package lockorder

import "testing"

// The cost of asking whether the checker is on: one atomic load (x86: a
// plain load), or nothing under -tags lockorder_check.
func BenchmarkChecking(b *testing.B) {
	n := 0
	for b.Loop() {
		if checking() {
			n++
		}
	}
	if n != 0 && !BuildChecked {
		b.Fatal("checking() is true with the checker off")
	}
}
