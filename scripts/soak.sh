#!/usr/bin/env bash
# The long half of the reliability and security suite (docs/security.md): every fuzz target for FUZZTIME each
# (default 3m), then the fault scenarios with WATCHWORD_SOAK=1 (30 hub kills, a minute of clock skew).
# A crash found by fuzzing is written by go test to the package's testdata/fuzz/FuzzName/ and fails the run:
# fix it and commit the input, so that every later `make test` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-3m}
GO=${GO:-go}
targets=$(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v /testdata/ | sort)
n=0
for f in $targets; do
	pkg=./$(dirname "${f#./}")
	for name in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$f"); do
		echo "== $pkg $name ($FUZZTIME)"
		$GO test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg"
		n=$((n + 1))
	done
done
echo "fuzz targets: $n, each fuzzed for $FUZZTIME"
WATCHWORD_SOAK=1 $GO test -count=1 -timeout 60m -v -run 'TestHubKill9UnderLoad|TestClockSkew|TestTargetStoppedMidRotation|TestDiskFull' \
	./console/server/agent/faults | grep -E '^(---|===|fault|secret|ok|FAIL|PASS)|kills|DC stopped'
