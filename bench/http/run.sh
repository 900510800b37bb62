#!/usr/bin/env bash
# HTTP benchmark: aegis against a bare libmicrohttpd server (bench/http/raw_server.c) on GET /healthz.
#
# Usage: bench/http/run.sh [BUILD_DIR]      (default build/release; `make bench` passes it)
#
# Both servers run on loopback with one HTTP thread per CPU; wrk loads one of them at a time (raw, then
# aegis, BENCH_ROUNDS times) and the median of the rounds is reported. The raw server is the ceiling:
# same libmicrohttpd mode, no routing, request ids, metrics or logging, so "aegis / raw" is what the
# framework costs. Targets: aegis >= 80% of raw throughput, aegis p99 < 5 ms. The figures are printed
# and written as one JSON line to BUILD_DIR/bench-http.json. The exit status is 0 whether or not the
# targets hold (a benchmark reports, it does not judge); it is non-zero only when something failed to run.
#
# Settings (environment):
#   BENCH_DURATION    wrk duration of each measured run (default 10s; e.g. 3s for a quick look)
#   BENCH_ROUNDS      raw+aegis rounds; the median is reported (default 1, at most 20)
#   BENCH_WARMUP      unmeasured wrk run against each server before round 1 (default 1s; 0 = none)
#   BENCH_ACCESS_LOG  "file" (default: a real file, as in production) or "off" (no access log)
#
# wrk runs on the same machine as the servers and competes with them for the CPUs: the absolute
# figures describe this machine under this setup; the ratio is the figure to compare across machines.
set -euo pipefail
export LC_ALL=C # decimal points in printf/awk/sort, whatever the caller's locale

readonly WRK_THREADS=2 WRK_CONNECTIONS=64
readonly TARGET_RATIO_PCT=80 TARGET_P99_MS=5

die() {
    echo "bench/http: $*" >&2
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

duration=${BENCH_DURATION:-10s}
rounds=${BENCH_ROUNDS:-1}
warmup=${BENCH_WARMUP:-1s}
access_mode=${BENCH_ACCESS_LOG:-file}
[[ $duration =~ ^[1-9][0-9]*[smh]?$ ]] || die "BENCH_DURATION must look like 10s, 3s or 1m (got '$duration')"
[[ $warmup =~ ^(0|[1-9][0-9]*[smh]?)$ ]] || die "BENCH_WARMUP must look like 1s, or 0 (got '$warmup')"
if ! [[ $rounds =~ ^[1-9][0-9]*$ ]] || ((rounds > 20)); then
    die "BENCH_ROUNDS must be 1..20 (got '$rounds')"
fi
[[ $access_mode == file || $access_mode == off ]] || die "BENCH_ACCESS_LOG must be 'file' or 'off' (got '$access_mode')"

for tool in wrk curl; do
    command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)"
done
threads=$(nproc)

# ---- binaries --------------------------------------------------------------------------------------

aegis_bin=$build/aegis
raw_bin=$build/bench/bench_raw_mhd
if [[ ! -x $aegis_bin || ! -x $raw_bin ]]; then
    echo "bench/http: building $build (aegis and bench_raw_mhd missing)"
    command -v cmake >/dev/null || die "cmake not found"
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DAEGIS_TESTS=OFF >/dev/null ||
        die "cmake could not configure $build"
    cmake --build "$build" -j2 || die "the release build failed"
    [[ -x $aegis_bin && -x $raw_bin ]] || die "the build did not produce $aegis_bin and $raw_bin"
fi

# ---- clean-up --------------------------------------------------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aegis-bench.XXXXXX")
pids=() # everything started in the background, killed on any exit

forget() { # $1: a pid that has been waited for, so that clean-up leaves it alone
    local keep=() pid
    for pid in "${pids[@]}"; do
        [[ $pid == "$1" ]] || keep+=("$pid")
    done
    pids=("${keep[@]}")
}

stop_all() {
    local pid i
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    # aegis drains gracefully on SIGTERM; give each process 5 s, then SIGKILL, so exit stays bounded.
    for pid in "${pids[@]}"; do
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_all
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
# exit from a signal runs the EXIT trap too; the background wait below lets it run at once.
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- servers ---------------------------------------------------------------------------------------

# A port nothing on this machine uses (no socket of any state bound to it), below the ephemeral range so
# that wrk's own client ports cannot collide with it. $1: a port already picked, to avoid.
pick_port() {
    local avoid=${1:-0} lo=10000 hi=32000 eph_lo p i
    read -r eph_lo _ </proc/sys/net/ipv4/ip_local_port_range || eph_lo=32768
    ((eph_lo > lo + 1000 && eph_lo < hi)) && hi=$eph_lo
    for ((i = 0; i < 100; i++)); do
        p=$((lo + RANDOM % (hi - lo)))
        ((p != avoid)) || continue
        if command -v ss >/dev/null; then
            [[ -z $(ss -Htan "sport = :$p") ]] && { echo "$p"; return 0; }
        elif ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p" # refused: nothing listens there
            return 0
        fi
    done
    return 1
}

# Polls GET /healthz until it answers 200; fails as soon as the server exits. Bounded: 150 tries of at
# most 1 s (curl) + 0.1 s, and in practice a server answers within a few tries.
wait_healthy() {
    local name=$1 pid=$2 port=$3 log=$4 i
    for ((i = 0; i < 150; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "bench/http: $name exited during start-up; its output:" >&2
            tail -n 20 "$log" >&2 || true
            exit 1
        fi
        # --noproxy: an http_proxy in the environment must not see (or answer) loopback traffic.
        if curl -fsS --noproxy '*' --connect-timeout 1 --max-time 1 -o /dev/null \
            "http://127.0.0.1:$port/healthz" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "bench/http: $name did not answer GET /healthz on 127.0.0.1:$port; its output:" >&2
    tail -n 20 "$log" >&2 || true
    exit 1
}

raw_port=$(pick_port) || die "no free loopback port found"
aegis_port=$(pick_port "$raw_port") || die "no free loopback port found"

"$raw_bin" "$raw_port" "$threads" >"$tmp/raw.log" 2>&1 &
raw_pid=$!
pids+=("$raw_pid")

if [[ $access_mode == off ]]; then
    access_log=off
else
    access_log=$tmp/access.log # on the same file system as /tmp (TMPDIR), as a production log file
fi
# aegis gets a clean configuration: no inherited AEGIS_* variable and an empty env file (instead of a
# developer's ./.env), so the figures depend only on what is set here.
: >"$tmp/empty.env"
aegis_env=(
    AEGIS_ENV_FILE="$tmp/empty.env"
    AEGIS_HOST=127.0.0.1
    AEGIS_PORT="$aegis_port"
    AEGIS_THREADS="$threads"
    AEGIS_DATABASE_URL="sqlite://$tmp/bench.db"
    AEGIS_ACCESS_LOG="$access_log"
    AEGIS_LOG_LEVEL=warn
    AEGIS_JOB_WORKERS=1
    AEGIS_SHUTDOWN_TIMEOUT=5
)
unset_args=()
while read -r var; do
    unset_args+=(-u "$var")
done < <(compgen -e | grep '^AEGIS_' || true)
env "${unset_args[@]}" "${aegis_env[@]}" "$aegis_bin" serve >"$tmp/aegis.log" 2>&1 &
aegis_pid=$!
pids+=("$aegis_pid")

wait_healthy "bench_raw_mhd" "$raw_pid" "$raw_port" "$tmp/raw.log"
wait_healthy "aegis" "$aegis_pid" "$aegis_port" "$tmp/aegis.log"

# ---- load ------------------------------------------------------------------------------------------

# Milliseconds from a wrk time ("812.00us", "1.53ms", "1.02s", "1.50m"); -1 when the unit is unknown.
# Prints "req/s p99_ms socket_errors non2xx3xx requests" from a wrk --latency report; fails when the
# report lacks Requests/sec or the 99% line.
parse_wrk() {
    awk '
        function ms(v,   n, u) {
            n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
            if (u == "us") return n / 1000
            if (u == "ms") return n
            if (u == "s") return n * 1000
            if (u == "m") return n * 60000
            if (u == "h") return n * 3600000
            return -1
        }
        /^Requests\/sec:/ { rps = $2 }
        $1 == "99%" { p99 = ms($2) }
        / requests in / { req = $1 }
        /Socket errors:/ { for (i = 3; i <= NF; i++) { x = $i; sub(/,$/, "", x); if (x ~ /^[0-9]+$/) sock += x } }
        /Non-2xx or 3xx responses:/ { st = $NF }
        END {
            if (rps == "" || p99 == "" || p99 < 0) exit 1
            printf "%s %.3f %d %d %d\n", rps, p99, sock, st, req
        }' "$1"
}

# Runs wrk against one server and checks the server survived it. In the background with `wait`, so that
# Ctrl-C or SIGTERM runs the clean-up at once (the EXIT trap kills wrk too).
run_wrk() {
    local name=$1 pid=$2 port=$3 dur=$4 out=$5 wrk_pid
    wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$dur" --latency "http://127.0.0.1:$port/healthz" \
        >"$out" 2>&1 &
    wrk_pid=$!
    pids+=("$wrk_pid")
    if ! wait "$wrk_pid"; then
        cat "$out" >&2
        die "wrk failed against $name"
    fi
    forget "$wrk_pid"
    kill -0 "$pid" 2>/dev/null || die "$name died under load; its output: $(tail -n 20 "$tmp/$name.log")"
}

echo "bench/http: GET /healthz, wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$duration --latency, $rounds round(s)," \
    "$threads server thread(s) on $threads CPU(s), access log: $access_mode"

if [[ $warmup != 0 ]]; then
    run_wrk raw "$raw_pid" "$raw_port" "$warmup" "$tmp/warmup.txt"
    run_wrk aegis "$aegis_pid" "$aegis_port" "$warmup" "$tmp/warmup.txt"
fi

raw_rps=() raw_p99=() aegis_rps=() aegis_p99=()
raw_err=0 aegis_err=0 raw_non2xx=0 aegis_non2xx=0
log_lines=0 log_bytes=0 last_aegis_req=0
for ((r = 1; r <= rounds; r++)); do
    # Raw first, then aegis: one server under load at a time, the other idle.
    run_wrk raw "$raw_pid" "$raw_port" "$duration" "$tmp/raw-$r.txt"
    read -r rps p99 sock st req < <(parse_wrk "$tmp/raw-$r.txt") || die "cannot parse the wrk report: $(cat "$tmp/raw-$r.txt")"
    raw_rps+=("$rps") raw_p99+=("$p99")
    raw_err=$((raw_err + sock)) raw_non2xx=$((raw_non2xx + st))
    r_line="raw $rps req/s, p99 $p99 ms"

    if [[ $access_mode == file ]]; then : >"$access_log"; fi # O_APPEND writer: truncation is safe
    run_wrk aegis "$aegis_pid" "$aegis_port" "$duration" "$tmp/aegis-$r.txt"
    read -r rps p99 sock st req < <(parse_wrk "$tmp/aegis-$r.txt") || die "cannot parse the wrk report: $(cat "$tmp/aegis-$r.txt")"
    aegis_rps+=("$rps") aegis_p99+=("$p99")
    aegis_err=$((aegis_err + sock)) aegis_non2xx=$((aegis_non2xx + st)) last_aegis_req=$req
    if [[ $access_mode == file ]]; then
        # Kept per round (and truncated before the next) so a long run does not fill the disk.
        log_lines=$(wc -l <"$access_log") log_bytes=$(stat -c %s "$access_log")
    fi
    echo "  round $r/$rounds: $r_line | aegis $rps req/s, p99 $p99 ms"
done

# ---- figures ---------------------------------------------------------------------------------------

median() {
    printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
        END { if (NR % 2) printf "%.3f\n", a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
raw_rps_m=$(median "${raw_rps[@]}") raw_p99_m=$(median "${raw_p99[@]}")
aegis_rps_m=$(median "${aegis_rps[@]}") aegis_p99_m=$(median "${aegis_p99[@]}")
ratio=$(awk -v a="$aegis_rps_m" -v r="$raw_rps_m" 'BEGIN { printf "%.1f", (r > 0) ? 100 * a / r : 0 }')
tput_ok=$(awk -v x="$ratio" -v t="$TARGET_RATIO_PCT" 'BEGIN { print ((x >= t) ? "true" : "false") }')
p99_ok=$(awk -v x="$aegis_p99_m" -v t="$TARGET_P99_MS" 'BEGIN { print ((x < t) ? "true" : "false") }')

echo
printf '  %-22s %12s %10s %12s %12s\n' "" "req/s" "p99 ms" "sock errors" "non-2xx/3xx"
printf '  %-22s %12.1f %10.3f %12d %12d\n' "raw libmicrohttpd" "$raw_rps_m" "$raw_p99_m" "$raw_err" "$raw_non2xx"
printf '  %-22s %12.1f %10.3f %12d %12d\n' "aegis" "$aegis_rps_m" "$aegis_p99_m" "$aegis_err" "$aegis_non2xx"
printf '  %-22s %11s%%\n' "aegis / raw" "$ratio"
if [[ $access_mode == file ]]; then
    # Lines ~ requests shows every request was logged (a few more: those in flight when wrk stopped).
    printf '  %-22s %d lines, %d bytes in the last aegis run (wrk counted %d requests)\n' "access log" \
        "$log_lines" "$log_bytes" "$last_aegis_req"
fi
echo
if [[ $tput_ok == true ]]; then
    echo "PASS: aegis throughput is $ratio% of raw (target >= $TARGET_RATIO_PCT%)"
else
    echo "BELOW TARGET: aegis throughput is $ratio% of raw (target >= $TARGET_RATIO_PCT%)"
fi
if [[ $p99_ok == true ]]; then
    echo "PASS: aegis p99 is $aegis_p99_m ms (target < $TARGET_P99_MS ms)"
else
    echo "BELOW TARGET: aegis p99 is $aegis_p99_m ms (target < $TARGET_P99_MS ms)"
fi
if ((raw_err + raw_non2xx + aegis_err + aegis_non2xx > 0)); then
    echo "WARNING: wrk saw errors (counted above); the req/s figures include failed requests"
fi
# Anything aegis logged at warn or above during the run is worth a look.
if [[ -s $tmp/aegis.log ]]; then
    echo "note: aegis logged during the run (last lines):"
    tail -n 5 "$tmp/aegis.log" | sed 's/^/  /'
fi

commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
dirty=false
[[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]] && dirty=true
printf '{"bench":"http","ts":"%s","commit":"%s","dirty":%s,"endpoint":"/healthz","duration":"%s","rounds":%d,"wrk_threads":%d,"connections":%d,"server_threads":%d,"cpus":%d,"access_log":"%s","raw_rps":%s,"raw_p99_ms":%s,"aegis_rps":%s,"aegis_p99_ms":%s,"ratio_pct":%s,"raw_socket_errors":%d,"raw_non2xx":%d,"aegis_socket_errors":%d,"aegis_non2xx":%d,"target_ratio_pct":%d,"target_p99_ms":%d,"throughput_ok":%s,"p99_ok":%s}\n' \
    "$(date -u +%FT%TZ)" "$commit" "$dirty" "$duration" "$rounds" "$WRK_THREADS" "$WRK_CONNECTIONS" \
    "$threads" "$(nproc)" "$access_mode" "$raw_rps_m" "$raw_p99_m" "$aegis_rps_m" "$aegis_p99_m" \
    "$ratio" "$raw_err" "$raw_non2xx" "$aegis_err" "$aegis_non2xx" "$TARGET_RATIO_PCT" \
    "$TARGET_P99_MS" "$tput_ok" "$p99_ok" >"$build/bench-http.json"
echo "figures: $build/bench-http.json"
