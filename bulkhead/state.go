package bulkhead

// The permit state lives in one uint64 so that the uncontended paths are a
// single compare-and-swap that sees the count, the capacity and whether
// anyone waits, all at once:
//
//	bits  0..30  permits in use
//	bits 31..61  capacity
//	bit  62      queued: at least one caller waits in the queue
//
// While queued is set, only holders of Bulkhead.mu change the word: the fast
// paths see the bit and take the mutex instead. That keeps the queue and the
// word consistent and lets a release hand its permit straight to the first
// waiter (first in, first out).
const (
	countBits   = 31
	maxCapacity = MaxCapacity
	countMask   = uint64(maxCapacity)
	capShift    = countBits
	queuedBit   = uint64(1) << (2 * countBits)
)

func inUseOf(s uint64) int64 { return int64(s & countMask) }

func capOf(s uint64) int64 { return int64(s >> capShift & countMask) }

func withCap(s uint64, c int64) uint64 {
	return s&^(countMask<<capShift) | uint64(c)<<capShift
}
