#!/usr/bin/env bash
# bench/eval: Tier-1 throughput of every shipped domain spec on ~1 KB traces (bench_eval), then the
# HTTP batch ingestion figure when bench/eval/ingest.sh exists. Usage: bench/eval/run.sh BUILD_DIR
# Environment: BENCH_SECONDS (per measurement, default 3), BENCH_THREADS (default: the CPUs).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build/release}
[ -f "$build/CMakeCache.txt" ] || cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target bench_eval -j "$(nproc)" >/dev/null
if grep -q 'CMAKE_BUILD_TYPE:STRING=Debug' "$build/CMakeCache.txt" ||
   grep -q 'AEGIS_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
  echo "bench/eval: warning: $build is a Debug or sanitizer build; figures will be low" >&2
fi
"$build/bench/bench_eval" --seconds "${BENCH_SECONDS:-3}" --threads "${BENCH_THREADS:-$(nproc)}" \
  --json "$build/bench-eval.json"
if [ -x "$here/bench/eval/ingest.sh" ]; then
  "$here/bench/eval/ingest.sh" "$build"
fi
echo
echo "figures: $build/bench-eval.json"
