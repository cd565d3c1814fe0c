#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0

# C tests of libenos: build every test program as C99, C11 and C++ with
# -Wall -Wextra -Werror against build/libenos.so, check the exported symbols,
# and run each program (the simulator tests against enos-sim as a separate
# process, via with-sim.sh). Prints "total: N passed, N failed" at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=build/test
mkdir -p "$out"
CC=${CC:-gcc}
CXX=${CXX:-g++}
common=(-O1 -g -Wall -Wextra -Werror -Wpedantic -Iinclude -Itest/c)
link=(-Lbuild -lenos -pthread "-Wl,-rpath,$root/build")

passed=0 failed=0
note_fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

# 1. Only the header's functions leave the library.
header_fns=$(sed -n 's/^[a-z].*[ *]\(enos_[a-z_]*\)(.*/\1/p' include/enos.h | sort -u)
exported=$(nm -D --defined-only build/libenos.so | awk '$2 == "T" {print $3}' | sed 's/@.*//' | sort -u)
if [ "$header_fns" = "$exported" ] && [ -n "$exported" ]; then
  echo "ok: exported symbols = header functions ($(echo $exported | wc -w))"; passed=$((passed + 1))
else
  note_fail "exported symbols differ from include/enos.h"; diff <(echo "$header_fns") <(echo "$exported") || true
fi
if readelf -d build/libenos.so | grep -q 'SONAME.*\[libenos.so.1\]'; then
  echo "ok: SONAME libenos.so.1"; passed=$((passed + 1))
else
  note_fail "SONAME is not libenos.so.1"
fi

# 2. Build: every program in every language mode.
# "asan": C11 with AddressSanitizer and UBSan against build/asan/libenos.so, a
# `go build -asan` of the library (C-side ASan alone cannot see Go writing past a C buffer).
variants=(c99 c11 cxx11 cxx17)
if [ -e build/asan/libenos.so ]; then
  variants+=(asan)
else
  echo "note: build/asan/libenos.so missing (make asan-lib): sanitizer variant skipped"
fi
asan_link=(-Lbuild/asan -lenos -pthread "-Wl,-rpath,$root/build/asan")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
build_one() { # variant src bin
  case $1 in
    asan) "$CC" -std=c11 "${common[@]}" -fsanitize=address,undefined -fno-sanitize-recover=undefined \
            -fno-omit-frame-pointer -o "$3" "$2" "${asan_link[@]}" ;;
    c99) "$CC" -std=c99 "${common[@]}" -o "$3" "$2" "${link[@]}" ;;
    c11) "$CC" -std=c11 "${common[@]}" -o "$3" "$2" "${link[@]}" ;;
    cxx11) "$CXX" -x c++ -std=c++11 "${common[@]}" -o "$3" "$2" -x none "${link[@]}" ;;
    cxx17) "$CXX" -x c++ -std=c++17 "${common[@]}" -o "$3" "$2" -x none "${link[@]}" ;;
  esac
}
for v in "${variants[@]}"; do
  for t in test_api test_sim test_commands test_log test_async test_thing test_statedir; do
    if build_one "$v" "test/c/$t.c" "$out/${t}_$v"; then passed=$((passed + 1)); else note_fail "build $t as $v"; fi
  done
  # The header alone, pedantic, in every mode (ENOS_CONFIG_INIT without warnings).
  printf '#include "enos.h"\nint main(void) { enos_config c = ENOS_CONFIG_INIT; return (int)c.struct_size == 0; }\n' >"$out/hdr.c"
  if build_one "$v" "$out/hdr.c" "$out/hdr_$v" 2>&1; then passed=$((passed + 1)); else note_fail "header check as $v"; fi
done

# 3. Run. A program's last line is "N passed, N failed".
run_prog() { # label command...
  local label=$1; shift
  local log="$out/$label.log" rc=0
  "$@" >"$log" 2>&1 || rc=$?
  local last p f
  last=$(tail -n 1 "$log")
  if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
  else
    p=0 f=1
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)) failed=$((failed + f))
  if [ "$f" -eq 0 ]; then
    echo "ok: $label ($p checks)"
  else
    echo "FAIL: $label (exit $rc; $last); its output:"; sed 's/^/    /' "$log"
  fi
}
for v in "${variants[@]}"; do
  run_prog "api_$v" "$out/test_api_$v"
  run_prog "sim_$v" test/c/with-sim.sh -- "$out/test_sim_$v"
  run_prog "commands_$v" test/c/with-sim.sh -- "$out/test_commands_$v"
  run_prog "log_$v" test/c/with-sim.sh --one -- "$out/test_log_$v"
  run_prog "async_$v" test/c/with-sim.sh --one -- "$out/test_async_$v"
  run_prog "thing_$v" test/c/with-sim.sh --one --model test/c/thing-model.json -- "$out/test_thing_$v"
  run_prog "statedir_$v" "$out/test_statedir_$v"
done
# 4. The examples: c_examples/commands and measurepoints against the simulator.
if [ -x build/commands ]; then
  run_prog "example_commands" test/c/with-sim.sh --one -- test/c/test_examples.sh build/commands
else
  note_fail "build/commands missing (make examples)"
fi
if [ -x build/gateway ]; then
  run_prog "example_gateway" test/c/test_gateway.sh build/gateway
else
  note_fail "build/gateway missing (make examples)"
fi

# c_examples/measurepoints against a simulator with a thing model.
if [ -x build/measurepoints ]; then
  run_prog "example_measurepoints" test/c/with-sim.sh --one --model test/c/thing-model.json -- \
    test/c/test_example_measurepoints.sh build/measurepoints
else
  note_fail "build/measurepoints missing (make examples)"
fi
if [ -x build/report ]; then
  run_prog "example_report_dtls" test/c/test_dtls_example.sh build/report
else
  note_fail "build/report missing (make examples)"
fi

echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
