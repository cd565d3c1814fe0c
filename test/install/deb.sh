#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0

# Debian package test of libenos: `make debs` (libenos1, libenos-dev, enos-tools
# for amd64, arm64 and armhf: DEB_ARCHES), then for every architecture:
# lintian (no error, no warning), control fields (libc6 dependency = the highest
# GLIBC_x.y the binaries need), file lists and modes, the ELF machine of the
# binaries. For the native architecture also: let apt resolve the packages
# (simulation only), install them into a throw-away root (dpkg --root as root,
# else dpkg -x), run enos from it, build the out-of-tree program
# (test/install/consumer) against it with pkg-config and CMake, run it, and
# remove the packages again. Never installs into the real system.
# Prints "N passed, N failed" at the end; exit status 0 if all passed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
MAKE=${MAKE:-make}
mk=("$MAKE" --no-print-directory -f Makefile -f mk/install.mk -f mk/deb.mk)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enos-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. test/install/lib.sh
require dpkg-deb:dpkg pkg-config:pkg-config cmake:cmake make:make ldd:libc-bin objdump:binutils lintian:lintian \
  aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu arm-linux-gnueabihf-gcc:gcc-arm-linux-gnueabihf
version=$(sed -n 's/^#define ENOS_VERSION_STRING "\(.*\)"$/\1/p' include/enos.h)
native=$(dpkg --print-architecture)
arches=${DEB_ARCHES:-amd64 arm64 armhf}
debver=$version-1

if "${mk[@]}" debs DEB_REVISION=1 DEB_ARCHES="$arches" >"$tmp/build.log" 2>&1; then
  ok "make debs ($arches)"
else
  fail "make debs"; sed 's/^/    /' "$tmp/build.log"; echo "$passed passed, $failed failed"; exit 1
fi

field() { dpkg-deb -f "$1" "$2"; }
# list DEB: the files of a package (links as "name -> target"), sorted.
list() { dpkg-deb -c "$1" | awk '{ if ($1 ~ /^l/) print $6, $7, $8; else if ($1 !~ /^d/) print $6 }' | LC_ALL=C sort; }
glibc_of() { objdump -T "$@" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1; }

for arch in $arches; do
  case $arch in
    amd64) ma=x86_64-linux-gnu machine='Advanced Micro Devices X86-64' ;;
    arm64) ma=aarch64-linux-gnu machine=AArch64 ;;
    armhf) ma=arm-linux-gnueabihf machine=ARM ;;
    *) fail "$arch: unknown architecture"; continue ;;
  esac
  run_deb=build/deb/libenos1_${debver}_$arch.deb
  dev_deb=build/deb/libenos-dev_${debver}_$arch.deb
  tools_deb=build/deb/enos-tools_${debver}_$arch.deb
  if [ ! -f "$run_deb" ] || [ ! -f "$dev_deb" ] || [ ! -f "$tools_deb" ]; then
    fail "$arch: packages missing"; continue
  fi

  # 0. lintian: no error and no warning (information tags are allowed).
  if lintian --fail-on error,warning --tag-display-limit 0 "$run_deb" "$dev_deb" "$tools_deb" >"$tmp/lintian.log" 2>&1; then
    ok "$arch: lintian: no errors, no warnings ($(grep -c '^I: ' "$tmp/lintian.log" || true) info tags)"
  else
    fail "$arch: lintian:"; grep -v 'running with root privileges' "$tmp/lintian.log" | sed 's/^/    /'
  fi

  # 1. Control fields.
  x=$tmp/x-$arch; mkdir -p "$x"; dpkg-deb -x "$run_deb" "$x"; dpkg-deb -x "$tools_deb" "$x"
  glibc=$(glibc_of "$x/usr/lib/$ma/libenos.so.$version")
  tools_glibc=$(glibc_of "$x/usr/bin/enos" "$x/usr/bin/enos-sim")
  check "$arch: libenos1: Package/Version/Architecture/Multi-Arch" \
    test "$(field "$run_deb" Package) $(field "$run_deb" Version) $(field "$run_deb" Architecture) $(field "$run_deb" Multi-Arch)" = "libenos1 $debver $arch same"
  check "$arch: libenos1: Depends: libc6 (>= $glibc) (max GLIBC_ version of objdump -T)" \
    test "$(field "$run_deb" Depends)" = "libc6 (>= $glibc)"
  check "$arch: libenos-dev: Depends: libenos1 (= $debver)" test "$(field "$dev_deb" Depends)" = "libenos1 (= $debver)"
  check "$arch: enos-tools: Depends: libc6 (>= ${tools_glibc:-none})" \
    test "$(field "$tools_deb" Depends)" = "${tools_glibc:+libc6 (>= $tools_glibc)}"
  check "$arch: libenos1: control, md5sums, shlibs, triggers" \
    sh -c "dpkg-deb -I '$run_deb' | grep -q ' shlibs' && dpkg-deb -I '$run_deb' | grep -q ' triggers' &&
           dpkg-deb -I '$run_deb' | grep -q ' md5sums' && dpkg-deb -I '$run_deb' shlibs | grep -qx 'libenos 1 libenos1 (>= $version)'"
  check "$arch: the library and the programs are $machine ELF files" \
    sh -c "for f in '$x/usr/lib/$ma/libenos.so.$version' '$x/usr/bin/enos' '$x/usr/bin/enos-sim'; do
             readelf -h \"\$f\" | grep -q 'Machine: *$machine\$' || { echo \"\$f: \$(readelf -h \"\$f\" | grep Machine)\"; exit 1; }; done"

  # 2. File lists (dpkg-deb -c), links included, and modes.
  L=./usr/lib/$ma
  want_run="$L/libenos.so.$version
$L/libenos.so.1 -> libenos.so.$version
./usr/share/doc/libenos1/changelog.Debian.gz
./usr/share/doc/libenos1/copyright"
  want_dev="$L/cmake/enos/enosConfig.cmake
$L/cmake/enos/enosConfigVersion.cmake
$L/libenos.a
$L/libenos.so -> libenos.so.1
$L/pkgconfig/enos-shared.pc
$L/pkgconfig/enos.pc
./usr/include/enos.h
./usr/share/doc/libenos-dev/changelog.Debian.gz
./usr/share/doc/libenos-dev/copyright"
  want_tools="./usr/bin/enos
./usr/bin/enos-sim
./usr/share/doc/enos-tools/changelog.Debian.gz
./usr/share/doc/enos-tools/copyright
./usr/share/man/man1/enos-sim.1.gz
./usr/share/man/man1/enos.1.gz"
  for p in run dev tools; do
    deb=${p}_deb want=want_$p
    got=$(list "${!deb}")
    if [ "$got" = "$(echo "${!want}" | LC_ALL=C sort)" ]; then ok "$(basename "${!deb}"): file list"
    else fail "$(basename "${!deb}"): file list"; diff <(echo "${!want}" | LC_ALL=C sort) <(echo "$got") | sed 's/^/    /' || true; fi
  done
  check "$arch: libenos.so.$version is mode 0644 (a shared library is not executable), owned by root" \
    sh -c "dpkg-deb -c '$run_deb' | grep -q '^-rw-r--r-- root/root .* $L/libenos.so.$version\$'"
  check "$arch: enos and enos-sim are mode 0755" \
    sh -c "test \$(dpkg-deb -c '$tools_deb' | grep -c '^-rwxr-xr-x root/root .* ./usr/bin/enos') = 2"
  check "$arch: copyright is machine-readable Apache-2.0 with the NOTICE" \
    sh -c "head -n 1 '$x/usr/share/doc/libenos1/copyright' | grep -q copyright-format/1.0 &&
           grep -q '^License: Apache-2.0' '$x/usr/share/doc/libenos1/copyright' &&
           grep -q '^ Copyright The libenos authors' '$x/usr/share/doc/libenos1/copyright'"
done

run_deb=build/deb/libenos1_${debver}_$native.deb
dev_deb=build/deb/libenos-dev_${debver}_$native.deb
tools_deb=build/deb/enos-tools_${debver}_$native.deb
ma=$("$CC" -print-multiarch)
if [ ! -f "$run_deb" ]; then
  echo "$passed passed, $failed failed (native $native not in DEB_ARCHES: install checks skipped)"
  [ "$failed" -eq 0 ]; exit
fi

# 3. apt would install them (simulation: resolves dependencies, changes nothing).
if command -v apt-get >/dev/null; then
  check "apt-get install -s ./$(basename "$run_deb") ./$(basename "$dev_deb") ./$(basename "$tools_deb")" \
    sh -c "apt-get install -s './$run_deb' './$dev_deb' './$tools_deb' 2>&1 | tee /dev/stderr | grep -q '^Conf libenos-dev' &&
           apt-get install -s './$run_deb' './$dev_deb' './$tools_deb' 2>&1 | grep -q '^Conf enos-tools'"
fi

# 4. Install into a throw-away root.
dest=$tmp/root
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$dest/var/lib/dpkg/info" "$dest/var/lib/dpkg/updates" "$dest/var/lib/dpkg/triggers"
  : >"$dest/var/lib/dpkg/status"
  # --force-depends: libc6 is not in the empty root (it is on the host).
  if dpkg --root="$dest" --log=/dev/null --force-depends -i "$run_deb" "$dev_deb" "$tools_deb" >"$tmp/dpkg.log" 2>&1 &&
     dpkg --root="$dest" -s libenos-dev 2>/dev/null | grep -q '^Status: install ok installed'; then
    ok "dpkg --root=<tmp> -i the three packages"
  else
    fail "dpkg --root -i"; sed 's/^/    /' "$tmp/dpkg.log"
  fi
  how="dpkg --root"
else
  if dpkg -x "$run_deb" "$dest" && dpkg -x "$dev_deb" "$dest" && dpkg -x "$tools_deb" "$dest"; then
    ok "dpkg -x the three packages (not root: no dpkg --root)"
  else
    fail "dpkg -x"
  fi
  how="dpkg -x"
fi

# 5. Run the tools, build and run the out-of-tree program against the unpacked /usr.
check "enos version and enos-sim --help run from the package" \
  sh -c "'$dest/usr/bin/enos' version | grep -q 'enos $version' && '$dest/usr/bin/enos-sim' --help 2>&1 | grep -q enos-sim"
consumer_pkgconfig deb "$dest" "/usr/lib/$ma/pkgconfig" "/usr/lib/$ma"
consumer_cmake deb "$dest/usr" "$dest/usr/lib/$ma"

# 6. Removal leaves nothing behind.
if [ "$how" = "dpkg --root" ]; then
  if dpkg --root="$dest" --log=/dev/null --purge enos-tools libenos-dev libenos1 >"$tmp/dpkg.log" 2>&1 &&
     [ -z "$(find "$dest/usr" ! -type d 2>/dev/null)" ]; then
    ok "dpkg --purge removes every file"
  else
    fail "dpkg --purge"; sed 's/^/    /' "$tmp/dpkg.log"; find "$dest/usr" ! -type d | sed 's/^/    left: /'
  fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
