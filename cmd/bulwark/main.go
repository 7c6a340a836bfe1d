// Command bulwark is a resilience sidecar proxy configured by a YAML file,
// with a live dashboard and an admin API; `bulwark demo` shows it working
// with no setup. See the sidecar package and README.md (part "The bulwark command").
//
//	bulwark run -config bulwark.yaml
//	bulwark validate -config bulwark.yaml
//	bulwark demo -duration 30s
package main

import (
	"context"
	"os"

	"github.com/bulwark-go/bulwark/sidecar"
)

func main() {
	os.Exit(sidecar.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
