#!/usr/bin/env bash
# Long fuzz runs: every target (or those named) for at least SECONDS each, niced, JOBS
# at a time, from an optimised build with debug assertions. New inputs go to
# fuzz/corpus-working-dirs/TARGET (kept between runs, never committed); the committed
# corpus is only read. One line per target is appended to fuzz/long-runs.tsv:
#   date  commit  target  seconds  executions  exec/s  cov  ft  peak-RSS-MB  result
# Usage: fuzz/long.sh [-t SECONDS] [-j JOBS] [TARGET ...]   (defaults: 600 s, 2 jobs)
set -euo pipefail
cd "$(dirname "$0")"
secs=600
jobs=2
while getopts "t:j:" o; do
  case $o in
    t) secs=$OPTARG ;;
    j) jobs=$OPTARG ;;
    *) echo "usage: fuzz/long.sh [-t SECONDS] [-j JOBS] [TARGET ...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

cargo +nightly fuzz build -O -s none --debug-assertions
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

# The binaries are copied so that a rebuild while the runs go on changes nothing.
commit=$(git rev-parse --short HEAD)
bins=$(mktemp -d)
trap 'rm -rf "$bins"' EXIT
for t in "${targets[@]}"; do
  cp "target/x86_64-unknown-linux-gnu/release/$t" "$bins/$t"
done
mkdir -p logs

run_one() {
  local t=$1 dict=()
  case $t in frontend|expr) dict=(-dict=dict/procedo.dict) ;; esac
  mkdir -p "corpus-working-dirs/$t" "artifacts/$t"
  local log="logs/$t.log" start end result=clean
  start=$(date +%s)
  if ! RAYON_NUM_THREADS=1 nice -n 19 "$bins/$t" -max_total_time="$secs" -timeout=20 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
      "${dict[@]}" "corpus-working-dirs/$t" "corpus/$t" >"$log" 2>&1; then
    result=FAILED
  fi
  end=$(date +%s)
  local execs rss cov ft
  execs=$(grep -Eo 'stat::number_of_executed_units: [0-9]+' "$log" | grep -Eo '[0-9]+$' || true)
  rss=$(grep -Eo 'stat::peak_rss_mb: [0-9]+' "$log" | grep -Eo '[0-9]+$' || true)
  # The last status line gives the coverage reached.
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n 1 | grep -Eo '[0-9]+' || true)
  ft=$(grep -Eo 'ft: [0-9]+' "$log" | tail -n 1 | grep -Eo '[0-9]+' || true)
  if [ "$result" = FAILED ] && [ -z "$execs" ]; then
    execs=$(grep -Eo '#[0-9]+' "$log" | tail -n 1 | tr -d '#' || true)
  fi
  local el=$((end - start))
  local rate=$(( ${execs:-0} / (el > 0 ? el : 1) ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%F)" "$commit" "$t" "$el" \
    "${execs:-?}" "$rate" "${cov:-?}" "${ft:-?}" "${rss:-?}" "$result" >>long-runs.tsv
  echo "fuzz $t: $result, ${el}s, ${execs:-?} executions, cov ${cov:-?}, ft ${ft:-?}"
}

running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait
