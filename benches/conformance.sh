#!/usr/bin/env bash
# Conformance speed, side by side with pm4py, and throughput on large generated logs.
#
#   bash benches/conformance.sh            # procedo only (pm4py columns skipped)
#   PM4PY_PYTHON=/path/to/venv/bin/python bash benches/conformance.sh
#
# pm4py: `python3 -m venv V && V/bin/pip install pm4py==2.7.23.11` (see tests/oracle/README.md).
# Prints wall times, ratios, events/s and peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
P=./target/release/procedo
LOG=examples/data/BPI_Challenge_2013_incidents.xes.gz
NET=tests/oracle/bpic2013_incidents.im_noise0.2.pnml
TMP=${TMPDIR:-/tmp}/procedo-bench
mkdir -p "$TMP"
export PM4PY_SHOW_PROGRESS_BAR=False

wall() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -1; }

echo "== BPIC 2013 incidents (7,554 cases, 65,533 events) on the pm4py inductive-miner net"
read -r t_all m_all < <(wall $P check --model $NET $LOG --activity concept:name,lifecycle:transition --format csv)
read -r t_one m_one < <(RAYON_NUM_THREADS=1 wall $P check --model $NET $LOG --activity concept:name,lifecycle:transition --format csv)
echo "procedo check, 2 threads : ${t_all} s, peak ${m_all} KiB"
echo "procedo check, 1 thread  : ${t_one} s, peak ${m_one} KiB"
if [ -n "${PM4PY_PYTHON:-}" ]; then
  ORACLE=tests/oracle/pm_oracle.py
  [ -f "$ORACLE" ] || { echo "missing $ORACLE"; exit 2; }
  read -r t_dij m_dij < <(wall "$PM4PY_PYTHON" $ORACLE align $LOG --pnml $NET --activity concept:name,lifecycle:transition --algo dijkstra_less_memory --max-trace-seconds 2 --per-case $TMP/dij.csv)
  echo "pm4py Dijkstra           : ${t_dij} s, peak ${m_dij} KiB  -> procedo is $(python3 -c "print(round($t_dij/$t_all,1))")x faster (1 thread: $(python3 -c "print(round($t_dij/$t_one,1))")x)"
  if [ -n "${PM4PY_ASTAR:-}" ]; then
    read -r t_ast m_ast < <(wall "$PM4PY_PYTHON" $ORACLE align $LOG --pnml $NET --activity concept:name,lifecycle:transition --max-trace-seconds 2 --per-case $TMP/astar.csv)
    echo "pm4py A* (default)       : ${t_ast} s, peak ${m_ast} KiB  -> procedo is $(python3 -c "print(round($t_ast/$t_all,1))")x faster"
  fi
fi

echo "== generated JSON Lines logs for procedures/bpic2013 (1 thread)"
for n in 1000000 10000000; do
  f=$TMP/gen-$n.jsonl
  if [ ! -f "$f" ]; then
    python3 - "$n" "$f" <<'PY'
import sys, random
n, path = int(sys.argv[1]), sys.argv[2]
random.seed(7)
paths = [
    ["Accepted+In Progress", "Completed+Resolved", "Completed+Closed"],
    ["Queued+Awaiting Assignment", "Accepted+In Progress", "Accepted+Wait - User", "Accepted+In Progress", "Completed+Resolved", "Completed+Closed"],
    ["Accepted+In Progress", "Completed+In Call"],
    ["Accepted+In Progress", "Accepted+Assigned", "Accepted+In Progress", "Completed+Closed"],
    ["Completed+Resolved", "Accepted+In Progress", "Completed+Resolved", "Completed+Closed"],
]
with open(path, "w") as out:
    written = case = 0
    while written < n:
        p = random.choice(paths)
        case += 1
        for i, a in enumerate(p):
            out.write('{"case:concept:name":"C%d","concept:name":"%s","time:timestamp":"2012-01-01T%02d:%02d:00Z","org:resource":"R%d"}\n' % (case, a, i // 60, i % 60, case % 97))
        written += len(p)
PY
  fi
  events=$(wc -l < "$f")
  read -r t0 m0 < <(RAYON_NUM_THREADS=1 wall $P check -p procedures/bpic2013/bpic2013_incident.proc "$f" --format csv --perspectives none)
  read -r t m < <(RAYON_NUM_THREADS=1 wall $P check -p procedures/bpic2013/bpic2013_incident.proc "$f" --format csv)
  echo "$events events, control flow only : ${t0} s, $(python3 -c "print(int($events/$t0))") events/s, peak $((m0 / 1024)) MiB"
  echo "$events events, all perspectives  : ${t} s, $(python3 -c "print(int($events/$t))") events/s, peak $((m / 1024)) MiB ($(python3 -c "print(round(100*$t0/$t))")% of control-flow throughput)"
done

# Every perspective at work: a log simulated from a procedure with time limits, clocks,
# informing, monitoring, resources and constraints.
if $P simulate --help >/dev/null 2>&1; then
  echo "== simulated logs, all perspectives vs control flow only (1 thread)"
  for proc in procedures/ambulance/ambulance_arp_dispatch.proc procedures/facilities/facilities_helpdesk_reactive.proc; do
    f=$TMP/sim-$(basename "$proc" .proc).jsonl
    [ -f "$f" ] || $P simulate -p "$proc" --cases 100000 --seed 1 --deviation-rate 0.2 > "$f"
    events=$(wc -l < "$f")
    read -r t0 m0 < <(RAYON_NUM_THREADS=1 wall $P check -p "$proc" "$f" --format csv --perspectives none)
    read -r t m < <(RAYON_NUM_THREADS=1 wall $P check -p "$proc" "$f" --format csv)
    echo "$(basename "$proc"): $events events; control flow ${t0} s ($(python3 -c "print(int($events/$t0))") events/s), all perspectives ${t} s ($(python3 -c "print(int($events/$t))") events/s, $(python3 -c "print(round(100*$t0/$t))")%), peak $((m / 1024)) MiB"
  done
fi
