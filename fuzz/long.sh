#!/usr/bin/env bash
# Long fuzz runs: every target (or those named) for at least SECONDS each, niced, JOBS
# at a time, from an optimised build with debug assertions. With -n EXECS a target that
# has not run EXECS inputs by then goes on until it has (the issue's "10 minutes or 1M
# executions, whichever comes later"), for at most -c SECONDS more. New inputs go to
# fuzz/corpus-working-dirs/TARGET (kept between runs, never committed); the committed
# corpus is only read. One line per target is appended to fuzz/long-runs.tsv:
#   date  commit  target  seconds  executions  exec/s  cov  ft  peak-RSS-MB  result
# Usage: fuzz/long.sh [-t SECONDS] [-j JOBS] [-n EXECS] [-c SECONDS] [TARGET ...]
#   (defaults: 600 s, 2 jobs, no execution floor, at most 3600 s more for it)
set -euo pipefail
cd "$(dirname "$0")"
secs=600
jobs=2
floor=0
cap=3600
while getopts "t:j:n:c:" o; do
  case $o in
    t) secs=$OPTARG ;;
    j) jobs=$OPTARG ;;
    n) floor=$OPTARG ;;
    c) cap=$OPTARG ;;
    *) echo "usage: fuzz/long.sh [-t SECONDS] [-j JOBS] [-n EXECS] [-c SECONDS] [TARGET ...]" >&2; exit 2 ;;
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

# Runs target $1 once: $2 is -max_total_time=S or -runs=N; $3 the log. Fails on a defect.
fuzz_once() {
  local t=$1 limit=$2 log=$3 dict=()
  case $t in frontend|expr) dict=(-dict=dict/procedo.dict) ;; esac
  RAYON_NUM_THREADS=1 nice -n 19 "$bins/$t" "$limit" -timeout=20 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
    "${dict[@]}" "corpus-working-dirs/$t" "corpus/$t" >"$log" 2>&1
}

# A figure (cov, ft) of libFuzzer's last status line (`#N ... cov: C ft: F ...`).
status_of() {
  grep -E '^#[0-9]+' "$2" | grep -Eo "$1: [0-9]+" | tail -n 1 | grep -Eo '[0-9]+' || true
}

# A run that ended early: `stopped` when it was interrupted (SIGINT: libFuzzer prints its
# final figures and exits 72), else FAILED (a crash, timeout or out-of-memory).
failed() {
  if grep -q 'libFuzzer: run interrupted' "$1"; then echo stopped; else echo FAILED; fi
}

stat_of() { grep -Eo "stat::$1:[[:space:]]+[0-9]+" "$2" | grep -Eo '[0-9]+$' || true; }

run_one() {
  local t=$1
  mkdir -p "corpus-working-dirs/$t" "artifacts/$t"
  local log="logs/$t.log" start end result=clean
  start=$(date +%s)
  fuzz_once "$t" -max_total_time="$secs" "$log" || result=$(failed "$log")
  local execs rss cov ft
  execs=$(stat_of number_of_executed_units "$log")
  rss=$(stat_of peak_rss_mb "$log")
  # The last status line gives the coverage reached.
  cov=$(status_of cov "$log")
  ft=$(status_of ft "$log")
  if [ "$result" = FAILED ] && [ -z "$execs" ]; then
    execs=$(grep -Eo '#[0-9]+' "$log" | tail -n 1 | tr -d '#' || true)
  fi
  # Below the floor: on until it is reached (in runs of a rate-sized count), within the cap.
  while [ "$result" = clean ] && [ "${execs:-0}" -lt "$floor" ] \
      && [ $(($(date +%s) - start - secs)) -lt "$cap" ]; do
    local more=$((floor - execs)) el=$(($(date +%s) - start))
    local rate=$((execs / (el > 0 ? el : 1) + 1))
    local left=$((cap - ($(date +%s) - start - secs)))
    [ $((more / rate)) -gt "$left" ] && more=$((rate * left))
    [ "$more" -lt 1 ] && break
    fuzz_once "$t" -runs="$more" "$log.more" || result=$(failed "$log.more")
    local add; add=$(stat_of number_of_executed_units "$log.more")
    execs=$((execs + ${add:-0}))
    local r2; r2=$(stat_of peak_rss_mb "$log.more")
    [ -n "$r2" ] && [ "$r2" -gt "${rss:-0}" ] && rss=$r2
    local c2; c2=$(status_of cov "$log.more")
    [ -n "$c2" ] && cov=$c2
    local f2; f2=$(status_of ft "$log.more")
    [ -n "$f2" ] && ft=$f2
  done
  end=$(date +%s)
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
