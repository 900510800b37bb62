#!/usr/bin/env bash
# Risk-engine benchmark: mc_run (src/risk) on two portfolios built in code by bench/risk/bench_risk.c.
#
# Usage: bench/risk/run.sh [BUILD_DIR]      (default build/release; `make bench` passes it)
#
# Cases: (a) one scenario with the FAIR decomposition and secondary loss, (b) a portfolio of five
# scenarios; each at 1e6 and 1e7 years, in compound and product semantics. Each case runs in a fresh
# process, so its peak RSS is its own. Targets (2 cores): 1e7 years of (a) in < 0.3 s, of (b) in
# < 1.5 s, peak RSS < 200 MB. The figures are printed, with the issue's Python baseline for comparison,
# and written as one JSON line per case to BUILD_DIR/bench-risk.json. The exit status is 0 whether or
# not the targets hold (a benchmark reports, it does not judge); it is non-zero only when something
# failed to run.
#
# Settings (environment):
#   BENCH_THREADS   simulation threads (default: one per CPU)
#   BENCH_ROUNDS    runs of each case, each in its own process; the median time is reported (default 1,
#                   at most 20)
#
# Anything else running on the machine takes CPU time from the simulation: the driver says so when the
# CPUs were busy just before it started, and its "cpu s" column near threads x "wall s" shows an
# uncontended run.
set -euo pipefail
export LC_ALL=C # decimal points in printf, whatever the caller's locale

die() {
    echo "bench/risk: $*" >&2
    exit 1
}

# ---- arguments and settings ------------------------------------------------------------------------

root=$(cd "$(dirname "$0")/../.." && pwd)
build_arg=${1:-build/release}
# Absolute, because the script changes directory to the repository root before building.
case $build_arg in
/*) build=$build_arg ;;
*) build=$PWD/$build_arg ;;
esac
cd "$root"

threads=${BENCH_THREADS:-$(nproc)}
rounds=${BENCH_ROUNDS:-1}
if ! [[ $threads =~ ^[1-9][0-9]*$ ]] || ((threads > 256)); then
    die "BENCH_THREADS must be 1..256 (got '$threads')"
fi
if ! [[ $rounds =~ ^[1-9][0-9]*$ ]] || ((rounds > 20)); then
    die "BENCH_ROUNDS must be 1..20 (got '$rounds')"
fi

# ---- binary ----------------------------------------------------------------------------------------

command -v cmake >/dev/null || die "cmake not found"
bin=$build/bench/bench_risk
if [[ ! -f $build/CMakeCache.txt ]]; then
    echo "bench/risk: configuring $build (Release)"
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DAEGIS_TESTS=OFF >/dev/null ||
        die "cmake could not configure $build"
fi
# Always brought up to date (a no-op when it already is): figures from a stale engine mislead.
if ! log=$(cmake --build "$build" --target bench_risk -j2 2>&1); then
    printf '%s\n' "$log" | tail -n 30 >&2
    die "the build of bench_risk in $build failed"
fi
[[ -x $bin ]] || die "the build did not produce $bin"
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
sanitize=$(sed -n 's/^AEGIS_SANITIZE:[A-Z]*=//p' "$build/CMakeCache.txt")
if [[ $build_type != Release || $sanitize == ON ]]; then
    echo "bench/risk: WARNING: $build is a ${build_type:-default} build (sanitizers: ${sanitize:-OFF});" \
        "its figures say nothing about the release engine"
fi

# ---- run -------------------------------------------------------------------------------------------

commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
# Dirty: the engine or the benchmark differs from the commit (untracked sources count: they are built).
dirty=false
[[ -n $(git status --porcelain -- src bench CMakeLists.txt 2>/dev/null) ]] && dirty=true

# The driver prints the table and the PASS / BELOW TARGET lines and writes the JSON; it exits 0 either
# way, non-zero only when a case failed to run.
"$bin" --threads "$threads" --rounds "$rounds" --json "$build/bench-risk.json" --commit "$commit" \
    --dirty "$dirty" || die "bench_risk failed (status $?)"
