#!/usr/bin/env bash
# Runs every side-by-side benchmark 5 times at -cpu 1,2 into results.txt,
# then prints the ratio table (cmd/ratios) and benchstat's summary if
# benchstat is installed. The 5 runs are whole passes one after the other
# (-count 1, five times) rather than -count 5, so that a burst of load on a
# shared machine lands on one sample of every benchmark instead of on all
# five samples of a few.
set -euo pipefail
cd "$(dirname "$0")"
benchtime=${BENCHTIME:-250ms}
{
	echo "# $(date -u +%FT%TZ) $(git -C .. rev-parse --short HEAD 2>/dev/null || echo '?'); loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
	for i in 1 2 3 4 5; do
		go test -run '^$' -bench . -benchmem -cpu 1,2 -count 1 -benchtime="$benchtime" .
	done
} | tee results.txt
go run ./cmd/ratios < results.txt
if command -v benchstat >/dev/null; then benchstat results.txt; fi
