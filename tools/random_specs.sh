#!/usr/bin/env bash
# Random specs through the differential harness (emit for both targets, compile, compare with the interpreter),
# each failure reduced to a minimal reproducer in random-spec-failures/ (or --keep DIR). Any arguments go to
# convc-random-specs: see `swift run -c release convc-random-specs --help`. Exits 1 when anything failed; add
# each reproducer to Tests/Fixtures/differential/ with a line saying what went wrong, then fix the emitter.
#   bash tools/random_specs.sh --count 200 --seed 7
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product convc-random-specs >/dev/null
exec .build/release/convc-random-specs "$@"
