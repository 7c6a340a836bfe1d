package bulwark_test

import (
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corePackages are the policy packages that must import only the standard
// library (and each other, and the module's internal packages). A folder
// listed here that does not exist yet is skipped by name, so the list can
// lead the code; once a folder exists, its imports are checked.
var corePackages = []string{
	".", "breaker", "retry", "timeout", "fallback", "bulkhead", "ratelimit",
	"adaptive", "hedge", "chaos", "recovery", "lockorder", "feature",
}

const module = "github.com/bulwark-go/bulwark"

func TestCorePackagesImportOnlyTheStandardLibrary(t *testing.T) {
	allowed := map[string]bool{module: true}
	for _, p := range corePackages {
		allowed[module+"/"+p] = true
	}
	checked := 0
	for _, dir := range corePackages {
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		checked++
		for _, imp := range pkg.Imports {
			if isStandard(imp) || allowed[imp] || strings.HasPrefix(imp, module+"/internal/") {
				continue
			}
			t.Errorf("core package %s imports %q; core packages may import only the standard library",
				filepath.Join(module, dir), imp)
		}
	}
	if checked == 0 {
		t.Fatal("no core package found; is the test running in the module root?")
	}
}

func TestIsStandard(t *testing.T) {
	for imp, want := range map[string]bool{
		"context": true, "net/http": true, "sync/atomic": true,
		"github.com/prometheus/client_golang/prometheus": false,
		"golang.org/x/time/rate":                         false,
		"gopkg.in/yaml.v3":                               false,
	} {
		if got := isStandard(imp); got != want {
			t.Errorf("isStandard(%q) = %v, want %v", imp, got, want)
		}
	}
}

// isStandard reports whether an import path names a standard-library
// package: its first element has no dot.
func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}
