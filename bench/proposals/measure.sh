#!/usr/bin/env bash
# bench/proposals/measure.sh [PATCH...]: measure proposed core/export changes
# without touching the tree. Copies the working tree to a temporary directory,
# applies the patches (default: every bench/proposals/*.patch), runs
# `go test -race ./core/...` there, builds libenos.so.1 the way the Makefile
# does, then runs the signing and reporting benchmarks against it
# (BENCH_LIBDIR) and against build/ (the tree as it is), interleaved.
#
#   bench/proposals/measure.sh                               all proposals
#   bench/proposals/measure.sh bench/proposals/transport_ppoll.patch
#
# Needs `make bench-build` first (the C programs are shared: they only link
# against libenos.so.1, which LD_LIBRARY_PATH swaps).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-3}
N=${N:-10000}
patches=("$@")
if ((${#patches[@]} == 0)); then patches=(bench/proposals/*.patch); fi

tmp=$(mktemp -d)
trap 'kill "${SIM_PID:-0}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
tar --exclude=./build --exclude=./.git -cf - . | tar -C "$tmp" -xf -
for p in "${patches[@]}"; do
    echo "measure: applying $p" >&2
    patch -d "$tmp" -p1 -s <"$ROOT/$p"
done
(cd "$tmp" && go vet . ./core/... && go test -race -count=1 ./core/... >&2)
mkdir -p "$tmp/lib"
(cd "$tmp" && CGO_ENABLED=1 go build -buildmode=c-shared -trimpath \
    -ldflags "-s -w -extldflags '-Wl,-soname,libenos.so.1 -Wl,--version-script=$tmp/libenos.map'" \
    -o lib/libenos.so.1 .)

echo "## signing (median ns/op; OpenSSL-fair / enos_sign)"
for lib in tree patched; do
    dir=$ROOT/$BUILD
    [[ $lib == patched ]] && dir=$tmp/lib
    LD_LIBRARY_PATH=$dir "$BUILD/sign_bench" 15 50000 | grep -E 'ns_|fair_over' | sed "s/^/$lib /"
done

echo "## reporting ($ROUNDS x $N sequential round trips each, alternating)"
# a fresh simulator for every run (it slows down as accepted messages pile up)
one() { # NAME LIBDIR CMD...
    local name=$1 dir=$2
    shift 2
    "$ROOT/$BUILD/enos-sim" --listen 127.0.0.1:0 --control off --log /dev/null --device MPK:m1:secret-m-1 >"$tmp/sim.out" 2>/dev/null &
    SIM_PID=$!
    for _ in $(seq 600); do grep -q "^listening on " "$tmp/sim.out" && break; sleep 0.05; done
    addr=$(sed -n 's/^listening on //p' "$tmp/sim.out" | head -1)
    : >"$tmp/sim.out"
    if [[ $name == libcoap ]]; then
        "$BUILD/report_coap" "${addr%:*}" "${addr##*:}" MPK m1 secret-m-1 "$N"
    else
        LD_LIBRARY_PATH=$dir "$BUILD/report_enos" "$addr" MPK m1 secret-m-1 "$N"
    fi | grep -E 'per_s|p50|p99|cpu_us' | sed "s/^/r$r $name /"
    kill "$SIM_PID"
    wait "$SIM_PID" 2>/dev/null || true
}
for r in $(seq 1 "$ROUNDS"); do
    order=(tree patched libcoap)
    ((r % 3 == 2)) && order=(patched libcoap tree)
    ((r % 3 == 0)) && order=(libcoap tree patched)
    for name in "${order[@]}"; do
        case $name in
        tree) one tree "$ROOT/$BUILD" ;;
        patched) one patched "$tmp/lib" ;;
        libcoap) one libcoap "" ;;
        esac
    done
done
