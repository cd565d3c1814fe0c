#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0

# CMake integration tests of libenos (make cmake-test runs them after building
# the top-level CMake tree):
#   1. vendored: a project that add_subdirectory()s libenos builds the library
#      and its own programs, and no libenos tests, examples or tools, registers
#      no ctest tests and installs nothing of libenos;
#   2. install: `cmake --install` of the top-level tree TOP (argument, default
#      build/cmake) into a DESTDIR gives the files of `make install`, and an
#      out-of-tree program builds and runs against them with pkg-config and
#      find_package(enos), shared and static.
# Prints "N passed, N failed"; exit status 0 if all passed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
top=$(realpath "${1:-build/cmake}")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enos-cmake.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. test/install/lib.sh
version=$(sed -n 's/^#define ENOS_VERSION_STRING "\(.*\)"$/\1/p' include/enos.h)

# 1. Vendored with add_subdirectory().
v=$tmp/vendored
if cmake -S test/cmake/vendored -B "$v" -DLIBENOS_SOURCE_DIR="$root" -DCMAKE_C_COMPILER="$CC" >"$tmp/v.log" 2>&1 &&
   cmake --build "$v" -j 2 >>"$tmp/v.log" 2>&1; then
  ok "vendored: configure and build"
  LD_LIBRARY_PATH=$v/libenos run_consumer vendored "$v/consumer" "$v/libenos"
  run_consumer vendored-static "$v/consumer_static"
  extra=$(find "$v/libenos" -maxdepth 1 -type f -executable ! -name 'libenos.so*' -printf '%f\n' | LC_ALL=C sort | tr '\n' ' ')
  check "vendored: no libenos test, example or tool was built (found: ${extra:-none})" test -z "$extra"
  check "vendored: no ctest test registered" sh -c "cd '$v' && ctest -N | grep -q 'Total Tests: 0'"
  check "vendored: no install rule of libenos" sh -c "! grep -Eq 'enos\\.h|libenos\\.so|enosConfig' '$v/libenos/cmake_install.cmake'"
else
  fail "vendored: configure or build"; sed 's/^/    /' "$tmp/v.log"
fi

# 2. cmake --install of the top-level tree.
if [ -f "$top/CMakeCache.txt" ]; then
  dest=$tmp/root
  prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$top/CMakeCache.txt")
  libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$top/CMakeCache.txt")
  if DESTDIR=$dest cmake --install "$top" >"$tmp/i.log" 2>&1; then
    ok "cmake --install $top (prefix $prefix, DESTDIR)"
  else
    fail "cmake --install"; sed 's/^/    /' "$tmp/i.log"
  fi
  want=$(LC_ALL=C sort <<FILES
$prefix/bin/enos
$prefix/bin/enos-sim
$prefix/include/enos.h
$prefix/$libdir/cmake/enos/enosConfig.cmake
$prefix/$libdir/cmake/enos/enosConfigVersion.cmake
$prefix/$libdir/libenos.a
$prefix/$libdir/libenos.so
$prefix/$libdir/libenos.so.$version
$prefix/$libdir/libenos.so.1
$prefix/$libdir/pkgconfig/enos-shared.pc
$prefix/$libdir/pkgconfig/enos.pc
$prefix/share/man/man1/enos-sim.1
$prefix/share/man/man1/enos.1
FILES
)
  got=$(cd "$dest" && find . ! -type d | sed 's/^\.//' | LC_ALL=C sort)
  if [ "$got" = "$want" ]; then ok "installed files"; else fail "installed files:"; diff <(echo "$want") <(echo "$got") | sed 's/^/    /' || true; fi
  check "libenos.so.1 -> libenos.so.$version" test "$(readlink "$dest$prefix/$libdir/libenos.so.1")" = "libenos.so.$version"
  check "enos.pc: prefix=$prefix" grep -qx "prefix=$prefix" "$dest$prefix/$libdir/pkgconfig/enos.pc"
  consumer_pkgconfig cmake-install "$dest" "$prefix/$libdir/pkgconfig" "$prefix/$libdir"
  consumer_cmake cmake-install "$dest$prefix" "$dest$prefix/$libdir"
  # --prefix at install time rewrites enos.pc's prefix.
  if cmake --install "$top" --prefix "$tmp/other" >"$tmp/i.log" 2>&1; then
    check "cmake --install --prefix P: enos.pc says prefix=P" grep -qx "prefix=$tmp/other" "$tmp/other/$libdir/pkgconfig/enos.pc"
  else
    fail "cmake --install --prefix"; sed 's/^/    /' "$tmp/i.log"
  fi
else
  fail "no CMake tree at $top (make cmake-test configures build/cmake)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
