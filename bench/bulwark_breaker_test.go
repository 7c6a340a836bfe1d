package bench

import "testing"

// Filled in when bulwark's breaker package lands.

func benchBulwarkBreakerClosed(b *testing.B)         {}
func benchBulwarkBreakerClosedStruct(b *testing.B)   {}
func benchBulwarkBreakerClosedWindow(b *testing.B)   {}
func benchBulwarkBreakerClosedParallel(b *testing.B) {}
func benchBulwarkBreakerOpen(b *testing.B)           {}
func benchBulwarkBreakerOpenParallel(b *testing.B)   {}
