#!/usr/bin/env bash
# watch's throughput and memory, with `check` on the same events as the anchor in the
# same run. Usage: benches/watch.sh [BINARY] [CASES]
#   BINARY  a release build of procedo [default: target/release/procedo]
#   CASES   simulated cases of the ambulance procedure [default: 20000]
# Prints events/s for `watch --clock event` (durable state, one transaction per batch)
# and for `check` over the same log, their ratio, and the peak memory of watch holding
# every case open (no case closes: --linger 3650d, no --close-at-end).
set -euo pipefail
bin=${1:-target/release/procedo}
cases=${2:-20000}
proc=procedures/ambulance/ambulance_arp_dispatch.proc
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin" simulate -p "$proc" --cases "$cases" --seed 7 --deviation-rate 0.3 > "$dir/log.jsonl"
python3 - "$dir/log.jsonl" "$dir/day.jsonl" <<'PY'
import json, sys
rows = open(sys.argv[1]).readlines()
rows.sort(key=lambda l: json.loads(l)["event_time"])
open(sys.argv[2], "w").writelines(rows)
PY
events=$(wc -l < "$dir/day.jsonl")
t0=$(date +%s.%N)
"$bin" check -p "$proc" "$dir/day.jsonl" --format jsonl > /dev/null 2>&1 || true
t1=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$dir/rss" "$bin" watch -p "$proc" --state "$dir/state" \
  --input "$dir/day.jsonl" --no-follow --clock event --close-at-end \
  --alerts "$dir/alerts.jsonl" 2> "$dir/watch.err" || { cat "$dir/watch.err"; exit 1; }
t2=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$dir/rss-open" "$bin" watch -p "$proc" --state "$dir/open" \
  --input "$dir/day.jsonl" --no-follow --clock event --linger 3650d \
  --alerts "$dir/alerts-open.jsonl" 2> /dev/null
python3 - "$events" "$t0" "$t1" "$t2" "$(cat "$dir/rss")" "$(cat "$dir/rss-open")" "$cases" <<'PY'
import sys
n, t0, t1, t2, rss, rss_open, cases = int(sys.argv[1]), *map(float, sys.argv[2:5]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
check, watch = t1 - t0, t2 - t1
print(f"{n} events, {cases} cases")
print(f"check: {check:.2f} s, {n / check:,.0f} events/s")
print(f"watch: {watch:.2f} s, {n / watch:,.0f} events/s (durable state); {watch / check:.2f}x check's time")
print(f"watch peak memory: {rss / 1024:.0f} MiB closing cases; {rss_open / 1024:.0f} MiB with all {cases} cases open")
PY
tail -1 "$dir/watch.err"
