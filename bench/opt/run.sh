#!/usr/bin/env bash
# Control-optimiser benchmark: opt_solve and opt_run (src/risk/opt.c), driven by bench/opt/bench_opt.c.
#
# Usage: bench/opt/run.sh [BUILD_DIR]      (default build/release; `make bench` passes it)
#
# Cases: a generated instance of 200 controls x 50 scenarios (fixed seed) solved with opt_solve four
# ways (min_total_cost, max_reduction, min_spend, min_total_cost with all NIS2 letters), and opt_run
# with a 20-point efficient frontier, re-simulated at 1e5 years a point, on the compiled-in templates
# sme-ransomware and nis2-essential. Each run is a fresh process. Targets (2 cores): a 200 x 50
# solve in < 2 s; the 20-point frontier in < 10 s. The figures are printed and written as one JSON
# line per case to BUILD_DIR/bench-opt.json. The exit status is 0 whether or not the targets hold (a
# benchmark reports, it does not judge); it is non-zero only when something failed to run.
#
# Settings (environment):
#   BENCH_THREADS   simulation threads for opt_run (default: one per CPU; GLPK itself uses one)
#   BENCH_ROUNDS    runs of each case, each in its own process; the median time is reported (default
#                   3, at most 20)
#   BENCH_TIMEOUT   seconds after which a run is stopped and reported as below target (default 300)
#
# Anything else running on the machine takes CPU time from the solver: the driver says so when the
# CPUs were busy just before it started.
set -euo pipefail
export LC_ALL=C # decimal points in printf, whatever the caller's locale

die() {
    echo "bench/opt: $*" >&2
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
rounds=${BENCH_ROUNDS:-3}
timeout=${BENCH_TIMEOUT:-300}
if ! [[ $threads =~ ^[1-9][0-9]*$ ]] || ((threads > 256)); then
    die "BENCH_THREADS must be 1..256 (got '$threads')"
fi
if ! [[ $rounds =~ ^[1-9][0-9]*$ ]] || ((rounds > 20)); then
    die "BENCH_ROUNDS must be 1..20 (got '$rounds')"
fi
if ! [[ $timeout =~ ^[1-9][0-9]*$ ]] || ((timeout > 86400)); then
    die "BENCH_TIMEOUT must be 1..86400 seconds (got '$timeout')"
fi

# ---- binary ----------------------------------------------------------------------------------------

command -v cmake >/dev/null || die "cmake not found"
bin=$build/bench/bench_opt
if [[ ! -f $build/CMakeCache.txt ]]; then
    echo "bench/opt: configuring $build (Release)"
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DAEGIS_TESTS=OFF >/dev/null ||
        die "cmake could not configure $build"
fi
# Always brought up to date (a no-op when it already is): figures from a stale optimiser mislead.
if ! log=$(cmake --build "$build" --target bench_opt -j2 2>&1); then
    printf '%s\n' "$log" | tail -n 30 >&2
    die "the build of bench_opt in $build failed"
fi
[[ -x $bin ]] || die "the build did not produce $bin"
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
sanitize=$(sed -n 's/^AEGIS_SANITIZE:[A-Z]*=//p' "$build/CMakeCache.txt")
if [[ $build_type != Release || $sanitize == ON ]]; then
    echo "bench/opt: WARNING: $build is a ${build_type:-default} build (sanitizers: ${sanitize:-OFF});" \
        "its figures say nothing about the release optimiser"
fi

# ---- run -------------------------------------------------------------------------------------------

commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
# Dirty: the optimiser or the benchmark differs from the commit (untracked sources count: they are
# built), and so does the compiled-in catalog and templates.
dirty=false
[[ -n $(git status --porcelain -- src bench data CMakeLists.txt 2>/dev/null) ]] && dirty=true

# The driver prints the tables and the PASS / BELOW TARGET lines and writes the JSON; it exits 0
# either way, non-zero only when a case failed to run.
"$bin" --threads "$threads" --rounds "$rounds" --timeout "$timeout" --json "$build/bench-opt.json" \
    --commit "$commit" --dirty "$dirty" || die "bench_opt failed (status $?)"
