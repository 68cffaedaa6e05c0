#!/usr/bin/env bash
# `review` against `check` on the same log, with the same release build, measured in the same
# run, interleaved, best of N (wall time and peak memory):
#
#   bash benches/review.sh [N]
#
# Logs: the generated 1M- and 10M-event JSON Lines logs (benches/conformance.sh writes
# them) and the BPIC 2013 incidents. The 1M and 10M peaks side by side show whether memory
# stays flat as the log grows.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-3}
cargo build --release --quiet
BIN=./target/release/procedo
TMP=${TMPDIR:-/tmp}/procedo-bench
mkdir -p "$TMP"
best() { # best wall time and its peak RSS (KiB) of N runs of "$@"
  local b= m=
  for _ in $(seq "$N"); do
    /usr/bin/time -f "%e %M" -o "$TMP/time" "$@" >/dev/null 2>&1 || true
    read -r t k < <(tail -1 "$TMP/time")
    if [ -z "$b" ] || python3 -c "import sys; sys.exit(0 if $t < $b else 1)"; then b=$t; m=$k; fi
  done
  echo "$b $m"
}
run() { # label, threads, then the arguments shared by check and review
  local label=$1 threads=$2; shift 2
  read -r ct cm < <(RAYON_NUM_THREADS=$threads best "$BIN" check "$@" --format csv)
  read -r rt rm < <(RAYON_NUM_THREADS=$threads best "$BIN" review "$@" --by operator --format json)
  echo "$label, $threads thread(s): check ${ct} s / $((cm / 1024)) MiB, review --by operator ${rt} s / $((rm / 1024)) MiB, time ratio $(python3 -c "print(round($rt/$ct, 3))")"
}
P=procedures/bpic2013/bpic2013_incident.proc
run "BPIC 2013 (7,554 cases)" 1 -p $P examples/data/BPI_Challenge_2013_incidents.xes.gz \
  --activity concept:name,lifecycle:transition
for f in "$TMP/gen-1000000.jsonl" "$TMP/gen-10000000.jsonl"; do
  [ -f "$f" ] || { echo "missing $f: run benches/conformance.sh once"; continue; }
  run "$(basename "$f")" 1 -p $P "$f"
  run "$(basename "$f")" 2 -p $P "$f"
done
