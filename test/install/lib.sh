# SPDX-License-Identifier: Apache-2.0

# Helpers shared by test/install/run.sh and test/install/deb.sh (sourced).
# The caller sets: root (repository), tmp (scratch dir), and defines nothing else.
# Counters: passed, failed. Every helper prints "ok: ..." or "FAIL: ...".
CC=${CC:-gcc}
passed=0 failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
# require TOOL:PACKAGE...: as root on Debian install what is missing (apt-get
# update first); otherwise say what to install and exit.
require() {
  local need=() t
  for t in "$@"; do command -v "${t%%:*}" >/dev/null 2>&1 || need+=("${t#*:}"); done
  [ ${#need[@]} -gt 0 ] || return 0
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "$(basename "$0"): installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "$(basename "$0"): missing tools; install them with: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
}
check() { # description command...
  local what=$1; shift
  if "$@" >"$tmp/check.log" 2>&1; then ok "$what"; else fail "$what"; sed 's/^/    /' "$tmp/check.log"; fi
}

# run_consumer LABEL BINARY [LIBDIR_EXPECTED]: run it (its last line is
# "N passed, N failed"); with LIBDIR_EXPECTED, libenos.so.1 must resolve there
# (the installed copy, not build/).
run_consumer() {
  local label=$1 bin=$2 want=${3:-} log="$tmp/$1.log"
  if [ -n "$want" ]; then
    local got
    got=$(ldd "$bin" | awk '$1 == "libenos.so.1" {print $3}')
    if [ "$(readlink -f "$(dirname "$got")" 2>/dev/null)" = "$(readlink -f "$want")" ]; then
      ok "$label: libenos.so.1 resolves to the installed $want"
    else
      fail "$label: libenos.so.1 resolves to '$got', want $want/"; ldd "$bin" | sed 's/^/    /'
    fi
  else
    if ldd "$bin" | grep -q libenos; then fail "$label: statically linked but needs libenos.so"; else ok "$label: no libenos.so dependency"; fi
  fi
  if "$bin" >"$log" 2>&1 && tail -n 1 "$log" | grep -Eq '^[0-9]+ passed, 0 failed$'; then
    ok "$label runs: $(tail -n 1 "$log")"
  else
    fail "$label run; its output:"; sed 's/^/    /' "$log"
  fi
}

# consumer_pkgconfig LABEL SYSROOT PCDIR LIBDIR: build test/install/consumer/main.c
# with pkg-config against a tree installed under SYSROOT (DESTDIR), shared and
# static; LIBDIR is the library directory inside SYSROOT (e.g. /usr/local/lib).
consumer_pkgconfig() {
  local label=$1 sysroot=$2 pcdir=$3 libdir=$4 flags static_libs
  # PKG_CONFIG_LIBDIR replaces the default search path: only the tree under test.
  export PKG_CONFIG_SYSROOT_DIR=$sysroot PKG_CONFIG_PATH=$sysroot$pcdir PKG_CONFIG_LIBDIR=$sysroot$pcdir
  # Keep -I/usr/include and -L/usr/lib/... of a /usr install: they are not system
  # directories once prefixed with the sysroot.
  export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
  if [ "$(pkg-config --modversion enos 2>&1)" = "$version" ]; then
    ok "$label: pkg-config --modversion enos = $version"
  else
    fail "$label: pkg-config --modversion enos: $(pkg-config --modversion enos 2>&1)"
  fi
  flags=$(pkg-config --cflags --libs enos)
  case " $flags " in
    *" -I$sysroot"*) ok "$label: pkg-config flags point into the install tree ($flags)" ;;
    *) fail "$label: pkg-config flags do not point into $sysroot: $flags" ;;
  esac
  # shellcheck disable=SC2086
  if "$CC" -std=c99 -Wall -Wextra -Werror -Wpedantic -o "$tmp/$label-pc" "$root/test/install/consumer/main.c" $flags 2>"$tmp/cc.log"; then
    ok "$label: cc \$(pkg-config --cflags --libs enos)"
    LD_LIBRARY_PATH=$sysroot$libdir run_consumer "$label-pc" "$tmp/$label-pc" "$sysroot$libdir"
  else
    fail "$label: cc with pkg-config"; sed 's/^/    /' "$tmp/cc.log"
  fi
  # Static: pkg-config --static alone must give the archive (run_consumer checks
  # that the program does not need libenos.so).
  static_libs=$(pkg-config --static --libs enos)
  # shellcheck disable=SC2086
  if "$CC" -std=c99 -Wall -Wextra -Werror -Wpedantic -o "$tmp/$label-pc-static" "$root/test/install/consumer/main.c" \
       $(pkg-config --cflags enos) $static_libs 2>"$tmp/cc.log"; then
    ok "$label: cc static with pkg-config --static ($static_libs)"
    run_consumer "$label-pc-static" "$tmp/$label-pc-static"
  else
    fail "$label: cc static with pkg-config --static"; sed 's/^/    /' "$tmp/cc.log"
  fi
  unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_ALLOW_SYSTEM_CFLAGS PKG_CONFIG_ALLOW_SYSTEM_LIBS
}

# consumer_cmake LABEL PREFIX LIBDIR: configure test/install/consumer with
# CMAKE_PREFIX_PATH=PREFIX (the install prefix inside DESTDIR), build, run; the
# package must come from PREFIX. LIBDIR: where libenos.so.1 must resolve.
consumer_cmake() {
  local label=$1 prefix=$2 libdir=$3 b="$tmp/$1-cmake"
  # No user/system package registries, no system prefixes: only the tree under test.
  local iso=(-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
             -DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF -DCMAKE_C_COMPILER="$CC")
  local major=${version%%.*}
  local same="$major.0" next="$((major + 1)).0"
  if cmake -S "$root/test/install/consumer" -B "$b" -DCMAKE_PREFIX_PATH="$prefix" "${iso[@]}" -DENOS_WANT="$same" \
       >"$tmp/cmake.log" 2>&1; then
    local dir
    dir=$(sed -n 's/^enos_DIR:PATH=//p' "$b/CMakeCache.txt")
    case $dir in
      "$prefix"/*) ok "$label: find_package(enos $same) found $dir" ;;
      *) fail "$label: find_package(enos) found '$dir', not under $prefix" ;;
    esac
  else
    fail "$label: cmake configure"; sed 's/^/    /' "$tmp/cmake.log"; return 0
  fi
  if cmake --build "$b" >"$tmp/cmake.log" 2>&1; then
    ok "$label: cmake --build (enos::enos, enos::enos_static)"
    LD_LIBRARY_PATH=$libdir run_consumer "$label-cmake" "$b/consumer" "$libdir"
    if [ -x "$b/consumer_static" ]; then
      run_consumer "$label-cmake-static" "$b/consumer_static"
    else
      fail "$label: enos::enos_static not defined (libenos.a not installed?)"
    fi
  else
    fail "$label: cmake --build"; sed 's/^/    /' "$tmp/cmake.log"
  fi
  # The version file: the next major version is another API and must be refused.
  if cmake -S "$root/test/install/consumer" -B "$b-v1" -DCMAKE_PREFIX_PATH="$prefix" "${iso[@]}" -DENOS_WANT="$next" \
       >"$tmp/cmake.log" 2>&1; then
    fail "$label: find_package(enos $next) accepted $version"
  elif grep -q 'that is compatible' "$tmp/cmake.log" && grep -q "version: $version" "$tmp/cmake.log"; then
    ok "$label: find_package(enos $next) refuses $version"
  else
    fail "$label: find_package(enos $next) failed for another reason"; sed 's/^/    /' "$tmp/cmake.log"
  fi
}
