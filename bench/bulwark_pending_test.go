package bench

import "testing"

// Placeholders for bulwark's side of each comparison, replaced one by one
// as bulwark's packages land.

func benchBulwarkRateLimitAllow(b *testing.B)         {}
func benchBulwarkRateLimitAllowParallel(b *testing.B) {}

func bulwarkHTTPCases() []httpClientCase { return nil }
