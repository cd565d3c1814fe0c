#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0

# Cross test of libenos for embedded Linux: `make cross` (linux/arm64 and
# linux/armv7 hard-float, Debian cross compilers), check the ELF files
# (machine, float ABI, SONAME, exported symbols = the native build's, glibc
# symbol versions), then run, for both architectures under qemu-user, every C
# test program test/c/test_*.c (the simulator tests against enos-sim: the
# native build/enos-sim on loopback, started by test/c/with-sim.sh) and the
# examples report and commands.
# As root on Debian, installs missing packages (apt-get update first); otherwise
# says what to install. CROSS_ARCHES="arm64" limits the architectures.
# Prints "total: N passed, N failed" at the end; exit status 0 if all passed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
MAKE=${MAKE:-make}
arches=${CROSS_ARCHES:-arm64 armv7}
out=build/cross

# --- tools -----------------------------------------------------------------
declare -A cc=([arm64]=aarch64-linux-gnu-gcc [armv7]=arm-linux-gnueabihf-gcc)
declare -A sysroot=([arm64]=/usr/aarch64-linux-gnu [armv7]=/usr/arm-linux-gnueabihf)
declare -A qemu_name=([arm64]=qemu-aarch64 [armv7]=qemu-arm)
declare -A ccpkg=([arm64]=gcc-aarch64-linux-gnu [armv7]=gcc-arm-linux-gnueabihf)
declare -A libcpkg=([arm64]=libc6-dev-arm64-cross [armv7]=libc6-dev-armhf-cross)
find_qemu() { command -v "$1" || command -v "$1-static" || true; }
missing() {
  need=()
  for a in $arches; do
    command -v "${cc[$a]}" >/dev/null || need+=("${ccpkg[$a]}")
    [ -e "${sysroot[$a]}/lib/libc.so" ] || need+=("${libcpkg[$a]}") # the dev package's; libc.so.6 comes without it
    [ -n "$(find_qemu "${qemu_name[$a]}")" ] || need+=(qemu-user)
  done
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u | sed '/^$/d')
}
missing
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "test/cross: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    missing
    [ ${#need[@]} -eq 0 ] || { echo "test/cross: still missing after apt-get: ${need[*]}" >&2; exit 1; }
  else
    echo "test/cross: missing tools; install them with: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
fi

passed=0 failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

# --- build -----------------------------------------------------------------
log=$(mktemp "${TMPDIR:-/tmp}/enos-cross.XXXXXX")
trap 'rm -f "$log"' EXIT
start=$SECONDS
if "$MAKE" --no-print-directory -f Makefile -f mk/cross.mk lib sim $(printf 'cross-%s ' $arches) >"$log" 2>&1; then
  ok "make cross ($arches) in $((SECONDS - start)) s"
else
  fail "make cross"; sed 's/^/    /' "$log"; echo "total: $passed passed, $failed failed"; exit 1
fi

exports() { nm -D --defined-only "$1" | awk '$2 != "A" {print $2, $3}' | sort; }
native_exports=$(exports build/libenos.so)

# --- static checks ---------------------------------------------------------
declare -A machine=([arm64]=AArch64 [armv7]=ARM)
for a in $arches; do
  so=$out/$a/libenos.so
  if readelf -h "$so" | grep -q "Machine:.*${machine[$a]}\$"; then ok "$a: ELF machine ${machine[$a]}"; else fail "$a: ELF machine: $(readelf -h "$so" | grep Machine)"; fi
  if [ "$a" = armv7 ]; then
    if readelf -h "$so" | grep -q 'hard-float ABI' && readelf -A "$so" | grep -q 'Tag_ABI_VFP_args: VFP registers' &&
       readelf -A "$so" | grep -q 'Tag_CPU_arch: v7'; then
      ok "armv7: ARMv7, hard-float ABI (VFP registers)"
    else
      fail "armv7: not ARMv7 hard-float"; readelf -h -A "$so" | sed 's/^/    /'
    fi
  fi
  if readelf -d "$so" | grep -q 'SONAME.*\[libenos.so.1\]'; then ok "$a: SONAME libenos.so.1"; else fail "$a: SONAME"; fi
  if [ "$(exports "$so")" = "$native_exports" ]; then
    ok "$a: exports the same symbols (with versions) as the native build ($(echo "$native_exports" | grep -c enos_) enos_*)"
  else
    fail "$a: exported symbols differ from build/libenos.so"; diff <(echo "$native_exports") <(exports "$so") | sed 's/^/    /' || true
  fi
  glibc=$(objdump -T "$so" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
  echo "note: $a: libenos.so needs glibc >= $glibc (highest GLIBC_ symbol version, objdump -T)"
done

# --- run under qemu-user ---------------------------------------------------
# run_prog LABEL COMMAND...: the program's last line is "N passed, N failed".
run_prog() {
  local label=$1; shift
  local plog=$out/$label.log rc=0 last p f t0=$SECONDS
  "$@" >"$plog" 2>&1 || rc=$?
  last=$(tail -n 1 "$plog")
  if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}; else p=0 f=1; fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)) failed=$((failed + f))
  if [ "$f" -eq 0 ]; then echo "ok: $label ($p checks, $((SECONDS - t0)) s)"
  else echo "FAIL: $label (exit $rc; $last); its output:"; sed 's/^/    /' "$plog"; fi
}
for a in $arches; do
  q=("$(find_qemu "${qemu_name[$a]}")" -L "${sysroot[$a]}")
  # The C tests, run as test/c/run.sh runs them natively.
  for src in test/c/test_*.c; do
    t=$(basename "$src" .c)
    case $t in
      test_api) run_prog "$a-$t" "${q[@]}" "$out/$a/$t" ;;                            # no network
      test_log|test_async) run_prog "$a-$t" test/c/with-sim.sh --one -- "${q[@]}" "$out/$a/$t" ;;
      test_thing) run_prog "$a-$t" test/c/with-sim.sh --one --model test/c/thing-model.json -- "${q[@]}" "$out/$a/$t" ;;
      test_statedir) run_prog "$a-$t" "${q[@]}" "$out/$a/$t" ;;                     # no network
      *)        run_prog "$a-$t" test/c/with-sim.sh -- "${q[@]}" "$out/$a/$t" ;;
    esac
  done
  # The examples against the simulator.
  if test/c/with-sim.sh --one -- sh -c 'exec "$@" "$ENOS_SIM_ADDR" "$ENOS_SIM_PK" "$ENOS_SIM_DK" "$ENOS_SIM_SECRET" one two' \
       sh "${q[@]}" "$out/$a/report" >"$out/$a-report.log" 2>&1 &&
     grep -q 'all reports acknowledged' "$out/$a-report.log"; then
    ok "$a: report example against enos-sim"
  else
    fail "$a: report example"; sed 's/^/    /' "$out/$a-report.log"
  fi
  if [ -x "$out/$a/commands" ] && [ -x test/c/test_examples.sh ]; then
    # test_examples.sh executes the program itself: hand it a qemu wrapper.
    printf '#!/bin/sh\nexec %s -L %s "%s" "$@"\n' "${q[0]}" "${sysroot[$a]}" "$root/$out/$a/commands" >"$out/$a/commands.qemu"
    chmod +x "$out/$a/commands.qemu"
    run_prog "$a-example_commands" test/c/with-sim.sh --one -- test/c/test_examples.sh "$root/$out/$a/commands.qemu"
  fi
done

echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
