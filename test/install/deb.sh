#!/usr/bin/env bash
# Debian package test of libenos: `make deb`, inspect both packages (fields,
# file lists, libc6 dependency = the highest GLIBC_x.y the .so needs), let apt
# resolve them (simulation only), install them into a throw-away root
# (dpkg --root as root, else dpkg -x), build the out-of-tree program
# (test/install/consumer) against that root with pkg-config and CMake, run it,
# and remove the packages again. Never installs into the real system.
# Prints "N passed, N failed" at the end; exit status 0 if all passed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
MAKE=${MAKE:-make}
mk=("$MAKE" --no-print-directory -f Makefile -f mk/install.mk -f mk/deb.mk)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enos-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. test/install/lib.sh
require dpkg-deb:dpkg pkg-config:pkg-config cmake:cmake make:make ldd:libc-bin objdump:binutils
version=$(sed -n 's/^#define ENOS_VERSION_STRING "\(.*\)"$/\1/p' include/enos.h)
arch=$(dpkg --print-architecture)
ma=$("$CC" -print-multiarch)
debver=$version-1
run_deb=build/deb/libenos1_${debver}_$arch.deb
dev_deb=build/deb/libenos-dev_${debver}_$arch.deb

if "${mk[@]}" deb DEB_REVISION=1 >"$tmp/build.log" 2>&1 && [ -f "$run_deb" ] && [ -f "$dev_deb" ]; then
  ok "make deb: $run_deb $dev_deb"
else
  fail "make deb"; sed 's/^/    /' "$tmp/build.log"; echo "$passed passed, $failed failed"; exit 1
fi

# 1. Control fields.
glibc=$(objdump -T build/libenos.so | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
field() { dpkg-deb -f "$1" "$2"; }
check "libenos1: Package/Version/Architecture/Multi-Arch" \
  test "$(field "$run_deb" Package) $(field "$run_deb" Version) $(field "$run_deb" Architecture) $(field "$run_deb" Multi-Arch)" = "libenos1 $debver $arch same"
check "libenos1: Depends: libc6 (>= $glibc) (max GLIBC_ version of objdump -T)" \
  test "$(field "$run_deb" Depends)" = "libc6 (>= $glibc)"
check "libenos-dev: Depends: libenos1 (= $debver)" test "$(field "$dev_deb" Depends)" = "libenos1 (= $debver)"
check "libenos1: control, md5sums, shlibs, triggers" \
  sh -c "dpkg-deb -I '$run_deb' | grep -q ' shlibs' && dpkg-deb -I '$run_deb' | grep -q ' triggers' &&
         dpkg-deb -I '$run_deb' | grep -q ' md5sums' && dpkg-deb -I '$run_deb' shlibs | grep -qx 'libenos 1 libenos1 (>= $version)'"

# 2. File lists (dpkg-deb -c), links included.
list() { dpkg-deb -c "$1" | awk '{ if ($1 ~ /^l/) print $6, $7, $8; else if ($1 !~ /^d/) print $6 }' | LC_ALL=C sort; }
L=./usr/lib/$ma
want_run="$L/libenos.so.$version
$L/libenos.so.1 -> libenos.so.$version
./usr/share/doc/libenos1/copyright"
want_dev="$L/cmake/enos/enosConfig.cmake
$L/cmake/enos/enosConfigVersion.cmake
$L/libenos.a
$L/libenos.so -> libenos.so.1
$L/pkgconfig/enos-shared.pc
$L/pkgconfig/enos.pc
./usr/include/enos.h
./usr/share/doc/libenos-dev/copyright"
for p in run dev; do
  deb=${p}_deb want=want_$p
  got=$(list "${!deb}")
  if [ "$got" = "$(echo "${!want}" | LC_ALL=C sort)" ]; then ok "$(basename "${!deb}"): file list"
  else fail "$(basename "${!deb}"): file list"; diff <(echo "${!want}" | LC_ALL=C sort) <(echo "$got") | sed 's/^/    /' || true; fi
done
check "libenos1: libenos.so.$version is mode 0755, owned by root" \
  sh -c "dpkg-deb -c '$run_deb' | grep -q '^-rwxr-xr-x root/root .* $L/libenos.so.$version\$'"

# 3. apt would install them (simulation: resolves dependencies, changes nothing).
if command -v apt-get >/dev/null; then
  check "apt-get install -s ./$(basename "$run_deb") ./$(basename "$dev_deb")" \
    sh -c "apt-get install -s './$run_deb' './$dev_deb' 2>&1 | tee /dev/stderr | grep -q '^Conf libenos-dev'"
fi
if command -v lintian >/dev/null; then
  lintian --no-tag-display-limit "$run_deb" "$dev_deb" >"$tmp/lintian.log" 2>&1 || true
  echo "note: lintian (informational): $(grep -c '^E:' "$tmp/lintian.log" || true) errors, $(grep -c '^W:' "$tmp/lintian.log" || true) warnings"
fi

# 4. Install into a throw-away root.
dest=$tmp/root
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$dest/var/lib/dpkg/info" "$dest/var/lib/dpkg/updates" "$dest/var/lib/dpkg/triggers"
  : >"$dest/var/lib/dpkg/status"
  # --force-depends: libc6 is not in the empty root (it is on the host).
  if dpkg --root="$dest" --log=/dev/null --force-depends -i "$run_deb" "$dev_deb" >"$tmp/dpkg.log" 2>&1 &&
     dpkg --root="$dest" -s libenos-dev 2>/dev/null | grep -q '^Status: install ok installed'; then
    ok "dpkg --root=<tmp> -i both packages"
  else
    fail "dpkg --root -i"; sed 's/^/    /' "$tmp/dpkg.log"
  fi
  how="dpkg --root"
else
  if dpkg -x "$run_deb" "$dest" && dpkg -x "$dev_deb" "$dest"; then
    ok "dpkg -x both packages (not root: no dpkg --root)"
  else
    fail "dpkg -x"
  fi
  how="dpkg -x"
fi

# 5. Build and run the out-of-tree program against the unpacked /usr.
consumer_pkgconfig deb "$dest" "/usr/lib/$ma/pkgconfig" "/usr/lib/$ma"
consumer_cmake deb "$dest/usr" "$dest/usr/lib/$ma"

# 6. Removal leaves nothing behind.
if [ "$how" = "dpkg --root" ]; then
  if dpkg --root="$dest" --log=/dev/null --purge libenos-dev libenos1 >"$tmp/dpkg.log" 2>&1 &&
     [ -z "$(find "$dest/usr" ! -type d 2>/dev/null)" ]; then
    ok "dpkg --purge removes every file"
  else
    fail "dpkg --purge"; sed 's/^/    /' "$tmp/dpkg.log"; find "$dest/usr" ! -type d | sed 's/^/    left: /'
  fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
