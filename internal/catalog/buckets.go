package catalog

import (
	"fmt"
	"math"
)

// Buckets returns the histogram bounds a config field asks for: def if b is
// nil, else a copy of b once it is checked to be non-empty, finite and
// strictly increasing. An error wraps errConfig (the exporter's ErrConfig)
// and names field.
func Buckets(errConfig error, field string, b, def []float64) ([]float64, error) {
	if b == nil {
		return def, nil
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: %s is empty; leave it nil for the default", errConfig, field)
	}
	for i, v := range b {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: %s[%d] is %v; bounds must be finite", errConfig, field, i, v)
		}
		if i > 0 && v <= b[i-1] {
			return nil, fmt.Errorf("%w: %s[%d] = %v is not greater than %s[%d] = %v; bounds must increase",
				errConfig, field, i, v, field, i-1, b[i-1])
		}
	}
	return append([]float64(nil), b...), nil
}
