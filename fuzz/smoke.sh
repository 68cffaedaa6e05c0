#!/usr/bin/env bash
# Fuzz smoke test: every target of fuzz/ on its committed corpus (fuzz/corpus/TARGET) for
# a few seconds each, niced. A crash, timeout or out-of-memory fails the run; the input
# is left in fuzz/artifacts/TARGET/. Usage: fuzz/smoke.sh [SECONDS_PER_TARGET] (default 8).
# Needs the nightly toolchain; installs cargo-fuzz when it is missing.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-8}"

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "error: the fuzz smoke test needs the nightly toolchain (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "note: installing cargo-fuzz (at most 10 minutes)" >&2
  if ! timeout 600 cargo +nightly install --locked cargo-fuzz >/dev/null 2>&1; then
    echo "error: cargo-fuzz could not be installed (cargo +nightly install cargo-fuzz failed or timed out)" >&2
    exit 1
  fi
fi

# No sanitizer: the library has no unsafe code, and the checks that matter (panics,
# overflow with debug assertions, timeouts, memory) need none.
# Built without optimisation: a few seconds per target need no speed, and the build is
# minutes shorter.
cargo +nightly fuzz build --dev -s none --debug-assertions

targets=$(cargo +nightly fuzz list)
bin=target/x86_64-unknown-linux-gnu/debug
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One target on its committed corpus; fails (with the log's tail) on a defect.
smoke_one() {
  local t=$1 dict=()
  case $t in frontend|expr) dict=(-dict=dict/procedo.dict) ;; esac
  mkdir -p "$work/$t" "artifacts/$t"
  # The committed corpus is read, never written: new inputs go to a scratch directory.
  if ! RAYON_NUM_THREADS=1 nice -n 19 "$bin/$t" -max_total_time="$secs" -timeout=20 \
      -rss_limit_mb=2048 -artifact_prefix="artifacts/$t/" "${dict[@]}" \
      "$work/$t" "corpus/$t" >"$work/$t.log" 2>&1; then
    tail -n 40 "$work/$t.log" >&2
    echo "error: fuzz target $t failed; the input is in fuzz/artifacts/$t/" >&2
    return 1
  fi
  echo "fuzz $t: $(grep -Eo 'DONE[[:space:]]+cov: [0-9]+ ft: [0-9]+' "$work/$t.log" | tail -n 1)"
}

# As many targets at a time as there are cores (loading a corpus takes a few seconds
# beside the fuzzing time: one at a time, 14 targets took 163 s for 8 s each).
jobs=$(nproc 2>/dev/null || echo 2)
start=$(date +%s)
running=0
failed=0
for t in $targets; do
  smoke_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || failed=1
  running=$((running - 1))
done
echo "fuzz smoke: $(($(date +%s) - start))s for $(echo $targets | wc -w) targets, $jobs at a time"
[ "$failed" -eq 0 ] || exit 1
