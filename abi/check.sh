#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0

# ABI check of libenos (run after `make lib`):
#   1. the enos_* functions the library exports, with their symbol versions, are
#      exactly those listed in abi/enos.symbols (no accidental ABI change);
#   2. it exports nothing else (Go runtime and cgo glue stay local);
#   3. its SONAME is libenos.so.1 and libenos.so.1 links to libenos.so.$VERSION;
#   4. the header's ENOS_VERSION_MAJOR/MINOR/PATCH and ENOS_VERSION_STRING agree
#      with each other and with enos_version() of the built library (a tiny C
#      program compiled against include/enos.h);
#   5. core/client.Version and the Python package's API_VERSION agree with it;
#   6. so does the Python package's version (__version__, and pyproject.toml).
#
#   abi/check.sh [LIBRARY]        default build/libenos.so
#   abi/check.sh --update [LIB]   rewrite abi/enos.symbols from LIBRARY (deliberate ABI change)
#
# Prints "N passed, N failed"; exits non-zero on any failure.
set -euo pipefail
export LC_ALL=C
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
CC=${CC:-gcc}
list=abi/enos.symbols
soname=${ENOS_SONAME:-libenos.so.1}

update=0
if [ "${1:-}" = --update ]; then update=1; shift; fi
lib=${1:-build/libenos.so}
if [ ! -e "$lib" ]; then
  echo "abi/check.sh: $lib not found: build it first (make lib)" >&2
  exit 1
fi
libdir=$(cd "$(dirname "$lib")" && pwd)

# "name VERSION" for every exported enos_* function (nm prints name@@VERSION).
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" && $3 ~ /^enos_/ {print $3}' |
           sed -e 's/@@*/ /' | awk '{print $1, ($2 == "" ? "(unversioned)" : $2)}' | sort)

if [ "$update" = 1 ]; then
  { sed -n '/^#/p' "$list"; echo "$exported"; } >"$list.tmp" && mv "$list.tmp" "$list"
  echo "abi/check.sh: wrote $(echo "$exported" | wc -l) symbols to $list"
  exit 0
fi

passed=0 failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

# 1. The committed list.
committed=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list" | awk '{print $1, $2}' | sort)
if [ "$exported" = "$committed" ]; then
  ok "exported enos_* functions = $list ($(echo "$exported" | wc -l))"
else
  fail "exported enos_* functions differ from $list"
  exp_names=$(echo "$exported" | awk '{print $1}') com_names=$(echo "$committed" | awk '{print $1}')
  comm -23 <(echo "$com_names") <(echo "$exp_names") | sed 's/^/    missing from the library (ABI break, or not implemented yet): /'
  comm -13 <(echo "$com_names") <(echo "$exp_names") | sed 's/^/    exported but not in the list (new ABI: add it to the list on purpose): /'
  join <(echo "$committed") <(echo "$exported") | awk '$2 != $3 {print "    symbol version changed: " $1 " " $2 " -> " $3}'
fi

# 2. Nothing else: every other defined dynamic symbol is a version node (type A).
others=$(nm -D --defined-only "$lib" | awk '!($2 == "T" && $3 ~ /^enos_/) && $2 != "A" {print "    " $0}')
if [ -z "$others" ]; then
  ok "no symbols exported besides enos_*"
else
  fail "symbols exported besides enos_* (libenos.map must keep them local):"; echo "$others"
fi

# 3. SONAME and file names.
actual_soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$actual_soname" = "$soname" ]; then ok "SONAME $soname"; else fail "SONAME is '$actual_soname', want $soname"; fi
header_string=$(sed -n 's/^#define ENOS_VERSION_STRING "\(.*\)"$/\1/p' include/enos.h)
real=$(basename "$(readlink -f "$lib")")
if [ "$real" = "libenos.so.$header_string" ]; then
  ok "$(basename "$lib") resolves to libenos.so.$header_string"
else
  fail "$(basename "$lib") resolves to $real, want libenos.so.$header_string (stale build?)"
fi

# 4. Version macros of the header against the library.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enos-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/version.c" <<'C'
#include <stdio.h>
#include "enos.h"
#define STR2(x) #x
#define STR(x) STR2(x)
int main(void) {
    printf("%s\n%s\n%s\n", STR(ENOS_VERSION_MAJOR) "." STR(ENOS_VERSION_MINOR) "." STR(ENOS_VERSION_PATCH),
           ENOS_VERSION_STRING, enos_version());
    return 0;
}
C
if "$CC" -std=c99 -Wall -Wextra -Werror -Iinclude -o "$tmp/version" "$tmp/version.c" \
     -L"$libdir" -l:"$(basename "$lib")" "-Wl,-rpath,$libdir" 2>"$tmp/cc.log" &&
   "$tmp/version" >"$tmp/out" 2>&1; then
  { read -r macros; read -r string; read -r runtime; } <"$tmp/out"
  if [ "$macros" = "$string" ]; then
    ok "ENOS_VERSION_MAJOR.MINOR.PATCH = ENOS_VERSION_STRING ($string)"
  else
    fail "header macros $macros != ENOS_VERSION_STRING $string"
  fi
  if [ "$runtime" = "$string" ]; then
    ok "enos_version() of the library = header ($runtime)"
  else
    fail "enos_version() of the library is '$runtime', the header says $string"
  fi
else
  fail "could not build or run the version check program:"; sed 's/^/    /' "$tmp/cc.log" "$tmp/out" 2>/dev/null || true
fi

# 5. The Go side's version (the CLI and the Python package's expectation) agrees.
go_version=$(sed -n 's/^const Version = "\(.*\)"$/\1/p' core/client/version.go)
if [ "$go_version" = "$header_string" ]; then
  ok "core/client.Version = header ($go_version)"
else
  fail "core/client.Version is '$go_version', the header says $header_string"
fi
py_major_minor=$(sed -n 's/^API_VERSION: Tuple\[int, int\] = (\([0-9]*\), \([0-9]*\))$/\1.\2/p' python/libenos/_lib.py)
if [ "$py_major_minor" = "${header_string%.*}" ]; then
  ok "python/libenos API_VERSION = header major.minor ($py_major_minor)"
else
  fail "python/libenos API_VERSION is '$py_major_minor', the header says ${header_string%.*}"
fi

# 6. The Python package's version (its one place: __version__, which the wheel's
#    metadata takes; pyproject.toml declares the version dynamic) = the header's.
py_version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' python/libenos/__init__.py)
if [ "$py_version" = "$header_string" ]; then
  ok "python/libenos __version__ = header ($py_version)"
else
  fail "python/libenos __version__ is '$py_version', the header says $header_string"
fi
pyproject_version=$(sed -n '/^\[project\]/,/^\[/s/^version *= *"\(.*\)"$/\1/p' python/pyproject.toml)
if [ -z "$pyproject_version" ] && grep -q '^dynamic = \[.*"version"' python/pyproject.toml; then
  ok "python/pyproject.toml takes the version from __version__ (dynamic)"
elif [ "$pyproject_version" = "$header_string" ]; then
  ok "python/pyproject.toml version = header ($pyproject_version)"
else
  fail "python/pyproject.toml version is '$pyproject_version' (not dynamic), the header says $header_string"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
