#!/usr/bin/env bash
# Alignment on nets full of silent transitions, side by side with pm4py in one run.
#
#   PM4PY_PYTHON=/path/to/venv/bin/python bash benches/hard_nets.sh
#
# pm4py: `python3 -m venv V && V/bin/pip install pm4py==2.7.23.11` (tests/oracle/README.md).
# Without PM4PY_PYTHON only procedo's figures are printed.
#
# 1. BPIC 2013 incidents on pm4py's inductive-miner net with noise 0.2: pm4py's Dijkstra
#    (its fastest exact variant; 2 s per-trace limit, as in tests/oracle) against
#    `procedo check --model`, whole processes (each reads the XES itself), and pm4py's
#    alignment step (`align_seconds`) against procedo's alignment alone (benches/align.rs).
# 2. The same log on the noise-0 net (65 of 78 transitions silent), where pm4py's
#    alignments do not finish in 25-30 minutes (tests/oracle/README.md): procedo's time
#    and peak memory for every case.
# 3. The noise-0 nets of the other real logs: procedo's time and peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
P=./target/release/procedo
LOG=examples/data/BPI_Challenge_2013_incidents.xes.gz
ACT=concept:name,lifecycle:transition
TMP=${TMPDIR:-/tmp}/procedo-bench
mkdir -p "$TMP"
export PM4PY_SHOW_PROGRESS_BAR=False
wall() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -1; }
# The best of five runs (seconds, and the peak memory of that run).
best5() { for _ in 1 2 3 4 5; do wall "$@"; done | sort -n | head -1; }
ratio() { python3 -c "print(round($1/$2, 1))"; }

echo "== 1. BPIC 2013 incidents on the noise-0.2 net"
NET=tests/oracle/bpic2013_incidents.im_noise0.2.pnml
if [ -n "${PM4PY_PYTHON:-}" ]; then
  /usr/bin/time -f "%e %M" -o "$TMP/pm.time" "$PM4PY_PYTHON" tests/oracle/pm_oracle.py align $LOG \
    --pnml $NET --activity $ACT --algo dijkstra_less_memory --max-trace-seconds 2 \
    --per-case "$TMP/dij.csv" > "$TMP/dij.json" 2>/dev/null
  read -r t_pm m_pm < <(tail -1 "$TMP/pm.time")
  a_pm=$(python3 -c "import json; print(round(json.load(open('$TMP/dij.json'))['align_seconds'], 2))")
fi
read -r t2 m2 < <(best5 $P check --model $NET $LOG --activity $ACT --format csv)
read -r t1 m1 < <(RAYON_NUM_THREADS=1 best5 $P check --model $NET $LOG --activity $ACT --format csv)
echo "procedo check (best of 5), 2 threads: ${t2} s, peak ${m2} KiB; 1 thread: ${t1} s"
cargo bench --quiet --bench align -- $NET $LOG $ACT | tee "$TMP/align.txt"
a1=$(grep -m1 "1 thread" "$TMP/align.txt" | sed -E 's/.*: ([0-9.]+) s.*/\1/')
if [ -n "${PM4PY_PYTHON:-}" ]; then
  echo "pm4py Dijkstra: process ${t_pm} s (peak ${m_pm} KiB), alignment step ${a_pm} s"
  echo "  whole process: procedo $(ratio "$t_pm" "$t2")x faster (1 thread: $(ratio "$t_pm" "$t1")x)"
  echo "  alignment alone: procedo (1 thread) $(ratio "$a_pm" "$a1")x faster"
fi

echo "== 2. BPIC 2013 incidents on the noise-0 net"
NET0=tests/oracle/bpic2013_incidents.im_noise0.pnml
read -r t m < <(wall $P check --model $NET0 $LOG --activity $ACT --format csv)
echo "procedo check: ${t} s, peak ${m} KiB (pm4py: does not finish in 25-30 min)"
cargo bench --quiet --bench align -- $NET0 $LOG $ACT

echo "== 3. noise-0 nets of the other real logs (procedo check, whole process)"
for spec in "helpdesk helpdesk.xes.gz concept:name" \
  "bpic2013_closed BPI_Challenge_2013_closed_problems.xes.gz $ACT" \
  "bpic2013_open BPI_Challenge_2013_open_problems.xes.gz $ACT" \
  "receipt receipt.csv.gz concept:name" \
  "roadtraffic100 roadtraffic100traces.xes concept:name" \
  "bpic14 BPIC14_incident_activity_filtered.xes.gz concept:name"; do
  set -- $spec
  read -r t m < <(wall $P check --model tests/oracle/$1.im_noise0.pnml examples/data/$2 --activity $3 --format csv)
  echo "$1: ${t} s, peak ${m} KiB"
done
read -r t m < <(wall $P check --model tests/oracle/uci.im_noise0.pnml examples/data/uci_incident_event_log.csv.gz \
  --case-column number --activity incident_state --timestamp sys_updated_at \
  --timestamp-format '%d/%m/%Y %H:%M' --assume-utc --format csv)
echo "uci: ${t} s, peak ${m} KiB"
