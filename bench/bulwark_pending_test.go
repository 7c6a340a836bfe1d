package bench

import "testing"

// Placeholders for bulwark's side of each comparison, replaced one by one
// as bulwark's packages land.

func benchBulwarkChainRetryBreaker(b *testing.B)              {}
func benchBulwarkChainRetryBreakerStruct(b *testing.B)        {}
func benchBulwarkChainRetryBreakerParallel(b *testing.B)      {}
func benchBulwarkChainRetryBreakerTimeout(b *testing.B)       {}
func benchBulwarkChainRetryBreakerTimeoutStruct(b *testing.B) {}
func benchBulwarkTimeout(b *testing.B)                        {}
func benchBulwarkBulkheadAcquireRelease(b *testing.B)         {}
func benchBulwarkBulkheadAcquireReleaseParallel(b *testing.B) {}
func benchBulwarkRateLimitAllow(b *testing.B)                 {}
func benchBulwarkRateLimitAllowParallel(b *testing.B)         {}
func benchBulwarkAdaptiveAcquireRelease(b *testing.B)         {}
func benchBulwarkAdaptiveAcquireReleaseParallel(b *testing.B) {}

func bulwarkHTTPCases() []httpClientCase { return nil }
