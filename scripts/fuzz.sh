#!/usr/bin/env bash
# Runs every Fuzz target of the module, one at a time (one target per go
# test invocation, as go test requires), for FUZZTIME each: a duration or
# a count of executions.
#
#   scripts/fuzz.sh 3000x              # what .ci/run does: a few seconds each
#   scripts/fuzz.sh 10m FuzzClientIP   # one target, ten minutes
#
# FUZZ_PARALLEL=n passes -parallel n to go test (workers per target);
# the default is one worker per CPU.
#
# CI gives a count, not a duration: a duration shorter than the run of the
# seed corpus ends in "context deadline exceeded" on a loaded machine.
#
# A failure leaves the failing input in the package's testdata/fuzz/ and
# stops the script with go test's exit status.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-3000x}
only=${2:-}
# Every package of every module in go.work, and the Fuzz functions in
# its test files.
targets=$(go list -f '{{.Dir}}{{range .TestGoFiles}} {{.}}{{end}}{{range .XTestGoFiles}} {{.}}{{end}}' github.com/bulwark-go/bulwark/... |
  while read -r dir files; do
    for f in $files; do
      for name in $(grep -oE '^func Fuzz[A-Za-z0-9_]*' "$dir/$f" | sed 's/^func //'); do
        echo "./${dir#"$PWD"/} $name"
      done
    done
  done)
n=0
while read -r pkg name; do
  [ -n "$pkg" ] || continue
  if [ -n "$only" ] && [ "$name" != "$only" ]; then continue; fi
  printf -- '--- fuzz %s %s for %s\n' "$pkg" "$name" "$fuzztime"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" ${FUZZ_PARALLEL:+-parallel "$FUZZ_PARALLEL"} "$pkg" 2>&1 | grep -vE '^fuzz: elapsed' || { echo "FAIL: $name in $pkg"; exit 1; }
  n=$((n + 1))
done <<<"$targets"
if [ "$n" -eq 0 ]; then
  echo "no fuzz target matched${only:+ $only}" >&2
  exit 1
fi
echo "$n fuzz targets passed"
