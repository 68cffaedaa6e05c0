#!/usr/bin/env bash
# `procedo diff` against one `procedo check` on BPIC 2013 (7,554 cases): the shipped
# procedure against edited copies of it, with this tree's release build, interleaved, best
# of N, 1 alignment thread, in CPU seconds (user + system: the cost, whatever the machine's
# other load; wall time is printed too):
#
#   bash benches/diff.sh [N]
#   bash benches/diff.sh instructions      # instructions executed (valgrind's callgrind):
#                                          # exact, and blind to the machine's other load
#
# Edits: a loop bound tightened (the same net: alignments shared between the versions),
# a step made mandatory (another net: every case aligned under both), a mapping line
# changed (the same net, other labels).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-3}
MODE=time
if [ "$N" = instructions ]; then MODE=instructions; N=1; fi
cargo build --release --quiet
BIN=./target/release/procedo
TMP=${TMPDIR:-/tmp}/procedo-bench-diff
rm -rf "$TMP" && mkdir -p "$TMP/procedures/bpic2013"
cp procedures/procedo.yaml "$TMP/procedures/"
PROC=procedures/bpic2013/bpic2013_incident.proc
LOG=examples/data/BPI_Challenge_2013_incidents.xes.gz
ACT=(--activity concept:name,lifecycle:transition)
best() { # best CPU time (and the wall time of that run) of N runs of "$@"
  local b= w=
  for _ in $(seq "$N"); do
    local t
    /usr/bin/time -f "%U %S %e" -o "$TMP/time" "$@" >/dev/null 2>&1 || true
    t=$(tail -1 "$TMP/time" | awk '{printf "%.2f", $1 + $2}')
    if [ -z "$b" ] || python3 -c "import sys; sys.exit(0 if $t < $b else 1)"; then
      b=$t; w=$(tail -1 "$TMP/time" | awk '{print $3}')
    fi
  done
  echo "$b $w"
}
ir() { # instructions executed by "$@" (1 thread)
  RAYON_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null \
    | awk '/Collected/ {print $4}'
}
edit() { # label, sed expression
  local label=$1 expr=$2 new="$TMP/procedures/bpic2013/bpic2013_incident.proc"
  sed "$expr" "$PROC" > "$new"
  cmp -s "$PROC" "$new" && { echo "$label: the edit did not apply"; exit 2; }
  local c d
  if [ "$MODE" = instructions ]; then
    c=$(ir "$BIN" check -p "$PROC" "$LOG" "${ACT[@]}" --format csv)
    d=$(ir "$BIN" diff "$PROC" "$new" --log "$LOG" "${ACT[@]}" --format json)
    echo "$label: check ${c} instructions, diff ${d}, ratio $(python3 -c "print(round($d/$c, 3))")"
    return
  fi
  read -r c cw < <(RAYON_NUM_THREADS=1 best "$BIN" check -p "$PROC" "$LOG" "${ACT[@]}" --format csv)
  read -r d dw < <(RAYON_NUM_THREADS=1 best "$BIN" diff "$PROC" "$new" --log "$LOG" "${ACT[@]}" --format json)
  echo "$label: check ${c} s CPU (${cw} s wall), diff ${d} s CPU (${dw} s wall), ratio $(python3 -c "print(round($d/$c, 3))")"
}
edit "loop bound 100 -> 20 (same net)" 's/repeat handling at most 100/repeat handling at most 20/'
edit "queued made mandatory (other net)" 's/step queued "Queued: awaiting assignment" optional/step queued "Queued: awaiting assignment"/'
edit "mapping: Accepted+Wait -> ignore (same net)" 's/activity "Accepted+Wait" -> wait$/activity "Accepted+Wait" -> ignore/'
