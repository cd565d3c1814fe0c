#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0

# Install test of libenos: build (make lib static cli sim), `make install` into a
# temporary DESTDIR, check the installed tree, then build an out-of-tree C
# program (test/install/consumer) with pkg-config and with CMake's
# find_package(enos) against it, shared and static, and run it. Then the same
# with overridden LIBDIR/INCLUDEDIR, and `make uninstall`. No network, nothing
# outside the temporary directory is touched.
# Prints "N passed, N failed" at the end; exit status 0 if all passed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
MAKE=${MAKE:-make}
# Works before and after the Makefile includes mk/*.mk (the fragments have include guards).
mk=("$MAKE" --no-print-directory -f Makefile -f mk/install.mk)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enos-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. test/install/lib.sh
require pkg-config:pkg-config cmake:cmake make:make ldd:libc-bin readelf:binutils realpath:coreutils
version=$(sed -n 's/^#define ENOS_VERSION_STRING "\(.*\)"$/\1/p' include/enos.h)

"${mk[@]}" lib static cli sim >"$tmp/build.log" 2>&1 || { echo "FAIL: make lib static"; cat "$tmp/build.log"; exit 1; }

# 1. make install PREFIX=/usr/local DESTDIR=...
dest=$tmp/root
if "${mk[@]}" install PREFIX=/usr/local DESTDIR="$dest" >"$tmp/install.log" 2>&1; then
  ok "make install PREFIX=/usr/local DESTDIR=$dest"
else
  fail "make install"; cat "$tmp/install.log"; echo "$passed passed, $failed failed"; exit 1
fi
L=$dest/usr/local/lib
want_files=$(LC_ALL=C sort <<FILES
/usr/local/bin/enos
/usr/local/bin/enos-sim
/usr/local/share/man/man1/enos-sim.1
/usr/local/share/man/man1/enos.1
/usr/local/include/enos.h
/usr/local/lib/cmake/enos/enosConfig.cmake
/usr/local/lib/cmake/enos/enosConfigVersion.cmake
/usr/local/lib/libenos.a
/usr/local/lib/libenos.so
/usr/local/lib/libenos.so.$version
/usr/local/lib/libenos.so.1
/usr/local/lib/pkgconfig/enos-shared.pc
/usr/local/lib/pkgconfig/enos.pc
FILES
)
got_files=$(cd "$dest" && find . ! -type d | sed 's/^\.//' | LC_ALL=C sort)
if [ "$got_files" = "$want_files" ]; then ok "installed files"; else fail "installed files:"; diff <(echo "$want_files") <(echo "$got_files") | sed 's/^/    /' || true; fi
check "libenos.so.1 -> libenos.so.$version" test "$(readlink "$L/libenos.so.1")" = "libenos.so.$version"
check "libenos.so -> libenos.so.1" test "$(readlink "$L/libenos.so")" = libenos.so.1
check "libenos.so.$version is a 0755 file with SONAME libenos.so.1" \
  sh -c "test ! -L '$L/libenos.so.$version' && test \"\$(stat -c %a '$L/libenos.so.$version')\" = 755 &&
         readelf -d '$L/libenos.so.$version' | grep -q 'SONAME.*\[libenos.so.1\]'"
check "enos and enos-sim are 0755 programs that run" \
  sh -c "test \"\$(stat -c %a '$dest/usr/local/bin/enos')\" = 755 && '$dest/usr/local/bin/enos' version | grep -q '$version' &&
         '$dest/usr/local/bin/enos-sim' --help 2>&1 | grep -q enos-sim"
check "enos.h is include/enos.h" cmp include/enos.h "$dest/usr/local/include/enos.h"
check "enos.pc: prefix=/usr/local, libdir=\${prefix}/lib, version $version" \
  sh -c "grep -qx 'prefix=/usr/local' '$L/pkgconfig/enos.pc' && grep -qx 'libdir=\${prefix}/lib' '$L/pkgconfig/enos.pc' &&
         grep -qx 'Version: $version' '$L/pkgconfig/enos.pc'"

consumer_pkgconfig default "$dest" /usr/local/lib/pkgconfig /usr/local/lib
consumer_cmake default "$dest/usr/local" "$L"

# 2. GNU directory overrides (a multiarch LIBDIR, as Debian has it: CMake on Debian
# does not search lib64); the tree also works when moved (CMake paths are relative).
dest2=$tmp/root2
ma=$("$CC" -print-multiarch 2>/dev/null || true); ma=${ma:-$(uname -m)-linux-gnu}
lib2=/opt/enos/lib/$ma inc2=/opt/enos/include/enos-0
if "${mk[@]}" install PREFIX=/opt/enos LIBDIR="$lib2" INCLUDEDIR="$inc2" \
     DESTDIR="$dest2" >"$tmp/install.log" 2>&1 &&
   [ -e "$dest2$lib2/libenos.so.1" ] && [ -e "$dest2$inc2/enos.h" ] &&
   [ -e "$dest2$lib2/pkgconfig/enos.pc" ] && [ -e "$dest2$lib2/cmake/enos/enosConfig.cmake" ]; then
  ok "make install PREFIX=/opt/enos LIBDIR=$lib2 INCLUDEDIR=$inc2"
  mv "$dest2/opt/enos" "$dest2/opt/moved"
  consumer_cmake custom-moved "$dest2/opt/moved" "$dest2/opt/moved/lib/$ma"
  mv "$dest2/opt/moved" "$dest2/opt/enos"
  consumer_pkgconfig custom "$dest2" "$lib2/pkgconfig" "$lib2"
else
  fail "make install with LIBDIR/INCLUDEDIR overrides"; sed 's/^/    /' "$tmp/install.log"
fi

# 3. make uninstall removes every file again.
if "${mk[@]}" uninstall PREFIX=/usr/local DESTDIR="$dest" >"$tmp/install.log" 2>&1 &&
   [ -z "$(find "$dest" ! -type d)" ]; then
  ok "make uninstall leaves no files"
else
  fail "make uninstall:"; find "$dest" ! -type d | sed 's/^/    /'
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
