// Command bulwark is a resilience sidecar proxy configured by a YAML file,
// with a live dashboard and an admin API; `bulwark demo` shows it working
// with no setup. See the sidecar package and docs/sidecar.md.
//
//	bulwark run -config bulwark.yaml
//	bulwark validate -config bulwark.yaml
//	bulwark demo -duration 30s
//	bulwark scenarios -out docs/scenarios
package main

import (
	"context"
	"os"

	"github.com/bulwark-go/bulwark/internal/faultsuite"
	"github.com/bulwark-go/bulwark/sidecar"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "scenarios" {
		// faultsuite runs the sidecar, so the sidecar cannot dispatch to it.
		os.Exit(faultsuite.Main(context.Background(), os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(sidecar.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
