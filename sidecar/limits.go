package sidecar

import (
	"fmt"
	"unsafe"

	"github.com/bulwark-go/bulwark/breaker"
)

// Limits on what a config file may ask for.
const (
	// MaxReportedErrors is how many problems of a config file are
	// reported; the rest are counted in a last line ("... and N more").
	MaxReportedErrors = 50
	// MaxBreakerMemory bounds the memory the breaker windows of all the
	// routes of a config take together, in bytes: a count window takes a
	// byte per call, a time window 12 bytes per second.
	MaxBreakerMemory = 64 << 20
)

// timeBucketBytes is the size of one second of a time window.
const timeBucketBytes = int64(unsafe.Sizeof([3]int32{}))

// breakerMemory is the memory a breaker block's window takes, in bytes.
func breakerMemory(b *BreakerConfig) int64 {
	size := int64(b.WindowSize)
	switch b.Window {
	case "time":
		if size == 0 {
			size = breaker.DefaultTimeWindow
		}
		return size * timeBucketBytes
	case "consecutive":
		return 0
	}
	if size == 0 {
		size = breaker.DefaultCountWindow
	}
	return size
}

// memory checks that the config's breaker windows fit in
// MaxBreakerMemory, naming the key of the first window past the limit.
func (v *validator) memory(c *Config) {
	var total int64
	for i := range c.Routes {
		b := c.Routes[i].Breaker
		if b == nil {
			continue
		}
		total += breakerMemory(b)
		if total > MaxBreakerMemory {
			v.fail(fmt.Sprintf("routes[%d].breaker.window_size", i),
				"the breaker windows of routes[0..%d] need %d MiB together, more than the %d MiB allowed (MaxBreakerMemory): use smaller windows",
				i, (total+1<<20-1)>>20, MaxBreakerMemory>>20)
			return
		}
	}
}
