#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0

# bench/run.sh: every libenos benchmark in one run (see BENCHMARKS.md).
#
#   bench/run.sh            full run (a few minutes)
#   bench/run.sh --short    CI mode (< 2 minutes): fewer iterations, shorter periods
#
# Expects the programs built by `make bench-build` in $BUILD (default build/).
# Writes $OUT/results.txt ("key value" lines) and $OUT/summary.md (default OUT=build/bench).
# BENCH_LIBDIR=dir runs the C programs against dir/libenos.so.1 instead of $BUILD's
# (LD_LIBRARY_PATH wins over the programs' RUNPATH), e.g. a build with a proposed patch.
#
# Benchmarks never pass or fail on their numbers: this script fails only when a
# program crashes, errs, or a result is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=${OUT:-$BUILD/bench}
SHORT=0
[[ "${1:-}" == "--short" || "${BENCH_SHORT:-0}" == "1" ]] && SHORT=1
mkdir -p "$OUT"
RES=$OUT/results.txt
: >"$RES"
if [[ -n "${BENCH_LIBDIR:-}" ]]; then
    export LD_LIBRARY_PATH="$BENCH_LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

log() { echo "bench: $*" >&2; }
put() { echo "$1 $2" >>"$RES"; }

SIM_PID=
stop_sim() {
    if [[ -n "$SIM_PID" ]]; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
        SIM_PID=
    fi
}
trap stop_sim EXIT

# start_sim NAME [--cpu N] ARGS...: starts enos-sim (on CPU N) on a free port, sets SIM_ADDR.
start_sim() {
    local name=$1 pin=()
    shift
    if [[ "${1:-}" == --cpu ]]; then
        pin=(taskset -c "$2")
        shift 2
    fi
    "${pin[@]}" "$BUILD/enos-sim" --listen 127.0.0.1:0 --control off --log /dev/null "$@" \
        >"$OUT/sim-$name.out" 2>"$OUT/sim-$name.err" &
    SIM_PID=$!
    for _ in $(seq 600); do # up to 30 s: a busy CI machine can be slow
        if grep -q '^listening on ' "$OUT/sim-$name.out" 2>/dev/null; then break; fi
        if ! kill -0 "$SIM_PID" 2>/dev/null; then break; fi
        sleep 0.05
    done
    SIM_ADDR=$(head -1 "$OUT/sim-$name.out" | sed -n 's/^listening on //p')
    [[ -n "$SIM_ADDR" ]] || { log "enos-sim did not start"; cat "$OUT/sim-$name.err" >&2; exit 1; }
}

# run_kv PREFIX CMD...: runs CMD, appends its "key value" lines (prefixed) to results.
run_kv() {
    local pre=$1
    shift
    local out
    if ! out=$("$@"); then
        log "FAILED: $*"
        exit 1
    fi
    echo "$out" | sed "s/^/$pre/" >>"$RES"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) exit 1; print a[int((NR+1)/2)]}'; }
get() { awk -v k="$1" '$1 == k {print $2; f=1} END {if (!f) exit 1}' "$RES" | tail -1; }

# ---------------------------------------------------------------- machine
put machine_nproc "$(nproc)"
put machine_cpu "\"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)\""
put machine_kernel "$(uname -r)"
put machine_mem_mb "$(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo)"
put machine_go "$(go env GOVERSION 2>/dev/null || echo unknown)"
put machine_gcc "$(gcc -dumpfullversion 2>/dev/null || echo unknown)"
put machine_libcoap "$(pkg-config --modversion libcoap-3-openssl 2>/dev/null || echo unknown)"
put machine_openssl "$(openssl version 2>/dev/null | awk '{print $2}')"
put machine_loadavg_start "\"$(cut -d' ' -f1-3 /proc/loadavg)\""
put bench_short "$SHORT"
put bench_lib "$(readlink -f "${BENCH_LIBDIR:-$BUILD}/libenos.so.1")"
put bench_date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
put bench_git "$(git rev-parse --short HEAD 2>/dev/null || echo none)$(git diff --quiet 2>/dev/null || echo +dirty)"

# ---------------------------------------------------------------- 1. signing
if ((SHORT)); then SIGN_ARGS=(7 20000); GOBENCH=(-benchtime=200ms -count=1); else SIGN_ARGS=(31 100000); GOBENCH=(-benchtime=2s -count=3); fi
log "signing: enos_sign vs OpenSSL EVP, interleaved (${SIGN_ARGS[*]})"
run_kv "" "$BUILD/sign_bench" "${SIGN_ARGS[@]}"

log "go benchmarks: core/sign, core/transport, core/client"
go test -run '^$' -bench . -benchmem "${GOBENCH[@]}" ./core/sign ./core/transport ./core/client >"$OUT/gobench.txt"
# ns/op and allocs/op per benchmark (median of -count runs)
for b in $(awk '/^Benchmark/ {sub(/-[0-9]+$/, "", $1); print $1}' "$OUT/gobench.txt" | sort -u); do
    ns=$(awk -v b="$b" '{n=$1; sub(/-[0-9]+$/, "", n)} n == b {print $3}' "$OUT/gobench.txt" | median)
    al=$(awk -v b="$b" '{n=$1; sub(/-[0-9]+$/, "", n)} n == b {for (i=1;i<=NF;i++) if ($i == "allocs/op") print $(i-1)}' "$OUT/gobench.txt" | median)
    put "go_${b#Benchmark}_ns" "$ns"
    put "go_${b#Benchmark}_allocs" "$al"
done

# ---------------------------------------------------------------- 2. reporting
# Three setups, each client alternating which goes first between rounds:
# - enos-sim on one CPU with the client (taskset): the goal's comparison. On a
#   virtual machine a wake-up across CPUs (an IPI) costs more than the whole
#   exchange, so with two CPUs where the scheduler happens to place the three
#   threads decides a run (2-5x spreads); on one CPU the round trip is the work
#   both sides do.
# - enos-sim with the CPUs unpinned, for completeness.
# - null_server on the client's CPU: it answers in a few µs and verifies
#   nothing, so the round trip is the clients' own cost. enos-sim spends 5-10x
#   either client's CPU per request, more as go-coap's per-endpoint
#   deduplication cache fills (it scans the whole cache on every datagram).
# Every enos-sim run gets a fresh simulator (a shared one would favour whichever
# client runs first) and every run its own socket pair, far below go-coap's
# 65,536 MIDs per 247 s.
if ((SHORT)); then REP_N=2000; NULL_N=5000; REP_ROUNDS=2; else REP_N=5000; NULL_N=20000; REP_ROUNDS=10; fi
PIN_CPU=$(($(nproc) - 1))
log "reporting: $REP_ROUNDS x (enos_report, libcoap) sequential round trips: $REP_N to enos-sim (fresh per run; on CPU $PIN_CPU, then unpinned), $NULL_N to null_server (CPU $PIN_CPU)"
: >"$OUT/sim-report.summary"
NULL_PID=
taskset -c "$PIN_CPU" "$BUILD/null_server" 127.0.0.1 0 >"$OUT/null-server.out" &
NULL_PID=$!
trap 'stop_sim; kill $NULL_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$OUT/null-server.out" 2>/dev/null && break; sleep 0.05; done
NULL_ADDR=$(sed -n 's/^listening on //p' "$OUT/null-server.out")
[[ -n "$NULL_ADDR" ]] || { log "null_server did not start"; exit 1; }
# letter SETUP: the prefix letter of a setup's per-run results ("c3_enos_...")
letter() { case $1 in simcpu) echo c ;; sim) echo s ;; null) echo n ;; esac; }
# rep SETUP CLIENT ROUND: one run; SETUP is simcpu, sim or null
rep() {
    local setup=$1 c=$2 r=$3 addr=$NULL_ADDR n=$NULL_N pin=(taskset -c "$PIN_CPU")
    case $setup in
    simcpu) start_sim report --cpu "$PIN_CPU" --device RepPK:rep1:secret-rep-1 ;;
    sim) start_sim report --device RepPK:rep1:secret-rep-1 && pin=() ;;
    esac
    if [[ $setup != null ]]; then addr=$SIM_ADDR n=$REP_N; fi
    if [[ $c == enos ]]; then
        run_kv "$(letter "$setup")${r}_" "${pin[@]}" "$BUILD/report_enos" "$addr" RepPK rep1 secret-rep-1 "$n"
    else
        run_kv "$(letter "$setup")${r}_" "${pin[@]}" "$BUILD/report_coap" "${addr%:*}" "${addr##*:}" RepPK rep1 secret-rep-1 "$n"
    fi
    if [[ $setup != null ]]; then
        stop_sim
        grep -h 'summary:' "$OUT/sim-report.err" >>"$OUT/sim-report.summary" || true
    fi
}
for r in $(seq 1 "$REP_ROUNDS"); do
    for setup in simcpu sim null; do
        if ((r % 2)); then rep $setup enos "$r"; rep $setup coap "$r"; else rep $setup coap "$r"; rep $setup enos "$r"; fi
    done
done
kill $NULL_PID 2>/dev/null || true
put report_sim_summary "\"$(awk '{for (i=3;i<=NF;i++) if (split($i, kv, "=") == 2) t[kv[1]] += kv[2]} END {for (k in t) printf "%s=%d ", k, t[k]}' "$OUT/sim-report.summary")\""
put report_msgs_per_run "$REP_N"
put report1cpu_msgs_per_run "$REP_N"
put nullrep_msgs_per_run "$NULL_N"
put pin_cpu "$PIN_CPU"
put report_runs_each "$REP_ROUNDS"
# per setup (result prefix report1cpu_, report_, nullrep_): medians over
# rounds, and the paired ratio (within each round, then the median)
for setup in simcpu sim null; do
    case $setup in simcpu) pre=report1cpu ;; sim) pre=report ;; null) pre=nullrep ;; esac
    p=$(letter "$setup")
    for k in msgs_per_s mean_us p50_us p99_us cpu_us_per_msg rss_kb threads; do
        for c in enos coap; do
            put "${pre}_${c}_$k" "$(awk -v k="${c}_$k" -v p="$p" '{n=$1} n ~ "^" p "[0-9]+_" {sub(/^[a-z][0-9]+_/, "", n); if (n == k) print $2}' "$RES" | median)"
        done
    done
    # Whichever client runs second in a round tends to be faster (a warmer
    # machine), so rounds alternate the order and the ratio is taken per pair
    # of rounds, one of each order (geometric mean), then the median over pairs.
    put "${pre}_ratio_paired_median" "$(for r in $(seq 2 2 "$REP_ROUNDS"); do
        awk -v a="$(get "${p}$((r - 1))_enos_msgs_per_s")" -v b="$(get "${p}$((r - 1))_coap_msgs_per_s")" \
            -v c="$(get "${p}${r}_enos_msgs_per_s")" -v d="$(get "${p}${r}_coap_msgs_per_s")" \
            'BEGIN {printf "%.3f\n", sqrt(a / b * c / d)}'
    done | median)"
    put "${pre}_ratio_enos_over_coap_msgs_per_s" "$(awk -v a="$(get "${pre}_enos_msgs_per_s")" -v b="$(get "${pre}_coap_msgs_per_s")" 'BEGIN {printf "%.2f", a/b}')"
done

# ---------------------------------------------------------------- 2b. reporting over DTLS
# libenos (enos_report with ENOS_SECURITY_DTLS) against libcoap's library with
# OpenSSL's DTLS (bench/report_coap_dtls.c), both against enos-sim
# --dtls-listen pinned with the client on one CPU (as report1cpu above), a
# fresh simulator per run, the order alternating between rounds. Each run
# measures its handshake, its first report (handshake included), then
# sequential reports. The UDP clients of section 2 run in the same rounds (the
# simulator's UDP endpoint), so DTLS/UDP ratios come from one run.
if ((SHORT)); then DTLS_N=1000; DTLS_ROUNDS=2; else DTLS_N=3000; DTLS_ROUNDS=6; fi
log "DTLS reporting: $DTLS_ROUNDS x (libenos, libcoap+OpenSSL; DTLS and UDP) $DTLS_N sequential reports to enos-sim --dtls-listen (CPU $PIN_CPU)"
# dtls_rep CLIENT ROUND: one run against a fresh simulator
dtls_rep() {
    local c=$1 r=$2 daddr=
    start_sim dtls --cpu "$PIN_CPU" --dtls-listen 127.0.0.1:0 --device RepPK:rep1:secret-rep-1
    for _ in $(seq 200); do
        daddr=$(sed -n 's/^enos-sim: DTLS on //p' "$OUT/sim-dtls.err")
        [[ -n "$daddr" ]] && break
        sleep 0.05
    done
    [[ -n "$daddr" ]] || { log "enos-sim has no DTLS address"; cat "$OUT/sim-dtls.err" >&2; exit 1; }
    case $c in
    enos) run_kv "d${r}_" taskset -c "$PIN_CPU" "$BUILD/report_enos_dtls" "$daddr" RepPK rep1 secret-rep-1 "$DTLS_N" ;;
    coap) run_kv "d${r}_" taskset -c "$PIN_CPU" "$BUILD/report_coap_dtls" "${daddr%:*}" "${daddr##*:}" RepPK rep1 secret-rep-1 "$DTLS_N" ;;
    # the same clients over UDP (/auth + option 2101) in the same rounds, for DTLS/UDP ratios of one run
    enosudp) run_kv "d${r}_" taskset -c "$PIN_CPU" "$BUILD/report_enos" "$SIM_ADDR" RepPK rep1 secret-rep-1 "$DTLS_N" ;;
    coapudp) run_kv "d${r}_" taskset -c "$PIN_CPU" "$BUILD/report_coap" "${SIM_ADDR%:*}" "${SIM_ADDR##*:}" RepPK rep1 secret-rep-1 "$DTLS_N" ;;
    esac
    stop_sim
}
for r in $(seq 1 "$DTLS_ROUNDS"); do
    if ((r % 2)); then order="enos coap enosudp coapudp"; else order="coapudp enosudp coap enos"; fi
    for c in $order; do dtls_rep "$c" "$r"; done
done
put dtls_msgs_per_run "$DTLS_N"
put dtls_runs_each "$DTLS_ROUNDS"
for k in handshake_us handshake2_us first_report_us msgs_per_s mean_us p50_us p99_us cpu_us_per_msg rss_kb threads; do
    for c in enos coap; do
        put "dtls_${c}_$k" "$(awk -v k="${c}dtls_$k" '{n=$1} n ~ /^d[0-9]+_/ {sub(/^d[0-9]+_/, "", n); if (n == k) print $2}' "$RES" | median)"
    done
done
for k in msgs_per_s mean_us p99_us cpu_us_per_msg; do
    for c in enos coap; do
        put "dtls_${c}udp_$k" "$(awk -v k="${c}_$k" '{n=$1} n ~ /^d[0-9]+_/ {sub(/^d[0-9]+_/, "", n); if (n == k) print $2}' "$RES" | median)"
    done
done
# paired ratio of reports/s, as for the UDP setups (one pair = one round of each order)
put dtls_ratio_paired_median "$(for r in $(seq 2 2 "$DTLS_ROUNDS"); do
    awk -v a="$(get "d$((r - 1))_enosdtls_msgs_per_s")" -v b="$(get "d$((r - 1))_coapdtls_msgs_per_s")" \
        -v c="$(get "d${r}_enosdtls_msgs_per_s")" -v d="$(get "d${r}_coapdtls_msgs_per_s")" \
        'BEGIN {printf "%.3f\n", sqrt(a / b * c / d)}'
done | median)"

# ---------------------------------------------------------------- 3. gateway scale
if ((SHORT)); then SCALES=("1000 1000 3" "10000 5000 2"); else SCALES=("1000 10000 4" "10000 10000 4"); fi
THREADS=${BENCH_THREADS:-16}
"$BUILD/scale_bench" gen "$OUT/devices.txt" 10000
start_sim scale --devices "$OUT/devices.txt"
for s in "${SCALES[@]}"; do
    read -r n period rounds <<<"$s"
    log "gateway: $n clients, every $period ms, $rounds rounds, $THREADS C threads"
    run_kv "scale${n}_" "$BUILD/scale_bench" run "$SIM_ADDR" "$n" "$period" "$rounds" "$THREADS"
    sed -i "s/^scale${n}_scale_/scale${n}_/" "$RES"
done
stop_sim
grep -h 'summary:' "$OUT/sim-scale.err" | sed 's/^enos-sim: summary: /scale_sim_summary "/; s/$/"/' >>"$RES" || true

# ---------------------------------------------------------------- 4. footprint
so=$(readlink -f "${BENCH_LIBDIR:-$BUILD}/libenos.so.1")
put fp_so_bytes "$(stat -c %s "$so")"
strip --strip-unneeded -o "$OUT/libenos.stripped.so" "$so"
put fp_so_stripped_bytes "$(stat -c %s "$OUT/libenos.stripped.so")"
coap_so=$(ldd "$BUILD/report_coap" | awk '/libcoap|libssl|libcrypto/ {print $3}' | xargs -r readlink -f | xargs -r stat -c %s | awk '{s+=$1} END {print s+0}')
put fp_libcoap_openssl_bytes "$coap_so"
start_sim footprint --device FpPK:fp1:secret-fp-1
log "footprint: one device, process start to first acknowledged report"
run_kv "" "$BUILD/footprint" "$SIM_ADDR" FpPK fp1 secret-fp-1
stop_sim

put machine_loadavg_end "\"$(cut -d' ' -f1-3 /proc/loadavg)\""

# ---------------------------------------------------------------- check + summary
required=(sign_ns_enos_sign sign_ns_openssl_fair sign_ns_openssl_cached go_AppendSign_allocs
    report_enos_msgs_per_s report_coap_msgs_per_s report_enos_p99_us report_coap_p99_us
    report1cpu_ratio_paired_median nullrep_ratio_paired_median
    dtls_enos_handshake_us dtls_coap_handshake_us dtls_enos_first_report_us dtls_coap_first_report_us
    dtls_enos_msgs_per_s dtls_coap_msgs_per_s dtls_enos_cpu_us_per_msg dtls_coap_cpu_us_per_msg dtls_ratio_paired_median
    scale1000_steady_p99_us scale10000_steady_p99_us scale10000_after_init_per_client_bytes
    scale10000_after_round1_per_client_bytes fp_so_stripped_bytes fp_rss_after_init_kb fp_exec_to_first_ack_ms)
for k in "${required[@]}"; do
    v=$(get "$k") || { log "missing result: $k"; exit 1; }
    [[ -n "$v" ]] || { log "empty result: $k"; exit 1; }
done
"${PYTHON:-python3}" bench/summary.py "$RES" >"$OUT/summary.md"
cat "$OUT/summary.md"
log "results: $RES, $OUT/summary.md"
