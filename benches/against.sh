#!/usr/bin/env bash
# Check time of this tree's release build against another build (the anchor), measured in
# the same run, interleaved, best of N (1 thread, so the figures compare engines, not the
# machine's other load):
#
#   bash benches/against.sh /path/to/anchor/procedo [N]
#
# Builds the anchor from a git revision with, for example:
#   git worktree add /tmp/anchor REV && (cd /tmp/anchor && cargo build --release)
# Logs: the BPIC 2013 incidents (XES, the shipped procedure, every perspective) and a
# generated 10M-event JSON Lines log (benches/conformance.sh writes it).
set -euo pipefail
cd "$(dirname "$0")/.."
ANCHOR=${1:?give the anchor binary}
N=${2:-3}
cargo build --release --quiet
NEW=./target/release/procedo
TMP=${TMPDIR:-/tmp}/procedo-bench
GEN=$TMP/gen-10000000.jsonl
[ -f "$GEN" ] || { echo "missing $GEN: run benches/conformance.sh once"; exit 2; }
best() { # best wall time of N runs of "$@"
  local b=
  for _ in $(seq "$N"); do
    local t
    /usr/bin/time -f "%e" -o "$TMP/time" "$@" >/dev/null 2>&1 || true
    t=$(tail -1 "$TMP/time")
    if [ -z "$b" ] || python3 -c "import sys; sys.exit(0 if $t < $b else 1)"; then b=$t; fi
  done
  echo "$b"
}
run() { # label, then the check arguments
  local label=$1; shift
  local a n
  a=$(RAYON_NUM_THREADS=1 best "$ANCHOR" check "$@")
  n=$(RAYON_NUM_THREADS=1 best "$NEW" check "$@")
  echo "$label: anchor ${a} s, this tree ${n} s, ratio $(python3 -c "print(round($n/$a, 3))")"
}
run "BPIC 2013 (7,554 cases), bpic2013_incident.proc, all perspectives" \
  -p procedures/bpic2013/bpic2013_incident.proc examples/data/BPI_Challenge_2013_incidents.xes.gz \
  --activity concept:name,lifecycle:transition --format csv
run "10M events, bpic2013_incident.proc, control flow only" \
  -p procedures/bpic2013/bpic2013_incident.proc "$GEN" --format csv --perspectives none
run "10M events, bpic2013_incident.proc, all perspectives" \
  -p procedures/bpic2013/bpic2013_incident.proc "$GEN" --format csv
