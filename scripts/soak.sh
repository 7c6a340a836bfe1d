#!/usr/bin/env bash
# Soak: runs the bulwark proxy (built from this tree) as a process of its
# own for DURATION under cycling upstream faults and 100 requests/s, samples
# its goroutines, heap and open fds from its /metrics, and fails if any
# trends upwards (a least-squares slope test; see faultsuite.SoakResult.Flat).
#
#   scripts/soak.sh        # 10 minutes, a sample every 10 s
#   scripts/soak.sh 60s    # what .ci/run does: a sample every 2 s
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10m}
bin=$(mktemp -d)/bulwark
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/bulwark
go test -count=1 -timeout 30m -run '^TestSoak$' -v ./internal/faultsuite -args -soak="$duration" -bulwark="$bin"
