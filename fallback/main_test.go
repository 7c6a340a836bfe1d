package fallback_test

import (
	"testing"

	"github.com/bulwark-go/bulwark/internal/leakcheck"
)

// TestMain is shared by every test file of the package.
func TestMain(m *testing.M) { leakcheck.Main(m) }
