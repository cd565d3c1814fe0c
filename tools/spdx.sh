#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# SPDX licence identifiers of libenos's source files.
#
#   tools/spdx.sh            add "SPDX-License-Identifier: Apache-2.0" to every
#                            source file that lacks one, in its comment syntax
#   tools/spdx.sh --check    list the files that lack one; exit 1 if any does
#   tools/spdx.sh [--check] FILE...   only these files
#
# Source files: *.go *.c *.h *.cpp *.py *.sh *.mk *.cmake *.cmake.in *.pc.in
# *.toml *.supp *.map, CMakeLists.txt, Makefile (tracked by git, or found under
# the repository when it is not a git checkout). Not: Go fuzz corpora
# (testdata/), generated files under build/, data and documents.
#
# Where the line goes: first line, or after a "#!" line; a blank line separates
# it from what follows, so in Go it never becomes a package's doc comment.
# A file counts as having one when "SPDX-License-Identifier:" is in its first
# 10 lines. Running it twice changes nothing the second time.
set -euo pipefail

ID="SPDX-License-Identifier: Apache-2.0"
root=$(cd "$(dirname "$0")/.." && pwd)

check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi

is_source() {
  case ${1##*/} in
    *.go | *.c | *.h | *.cpp | *.py | *.sh | *.mk | *.cmake | *.cmake.in | *.pc.in | *.toml | *.supp | *.map) ;;
    CMakeLists.txt | Makefile) ;;
    *) return 1 ;;
  esac
  case /$1 in */testdata/* | */build/* | */.git/*) return 1 ;; esac
}

# The header line of a file, in its comment syntax.
header_for() {
  case ${1##*/} in
    *.go) echo "// $ID" ;;
    *.c | *.h | *.cpp | *.map) echo "/* $ID */" ;; # C89 comments; ld version scripts take only /* */
    *) echo "# $ID" ;;
  esac
}

has_id() { head -n 10 -- "$1" | grep -q 'SPDX-License-Identifier:'; }

add_id() {
  local f=$1 tmpf
  tmpf=$(mktemp "$f.spdx.XXXXXX")
  awk -v h="$(header_for "$f")" '
    NR == 1 && /^#!/ { print; print h; shebang = 1; next }
    NR == 1          { print h; if ($0 != "") print ""; print; next }
    NR == 2 && shebang { if ($0 != "") print ""; print; next }
                     { print }
    END { if (NR == 0) print h }' "$f" >"$tmpf"
  chmod --reference="$f" "$tmpf"
  mv -- "$tmpf" "$f"
}

files=()
if [ $# -gt 0 ]; then
  for f in "$@"; do is_source "$f" && files+=("$f"); done
else
  cd "$root"
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Tracked and new (untracked, not ignored) files that still exist.
    mapfile -t all < <(git ls-files --cached --others --exclude-standard)
  else
    mapfile -t all < <(find . -path ./build -prune -o -path ./.git -prune -o -type f -print | sed 's|^\./||')
  fi
  for f in "${all[@]}"; do [ -f "$f" ] && is_source "$f" && files+=("$f"); done
fi

missing=0
for f in "${files[@]}"; do
  has_id "$f" && continue
  if [ $check = 1 ]; then
    echo "no SPDX-License-Identifier: $f"
    missing=$((missing + 1))
  else
    add_id "$f"
    echo "added: $f"
  fi
done
if [ $check = 1 ]; then
  if [ $missing -gt 0 ]; then
    echo "spdx: $missing of ${#files[@]} source files lack \"$ID\" (run tools/spdx.sh to add it)" >&2
    exit 1
  fi
  echo "spdx: all ${#files[@]} source files carry an SPDX-License-Identifier"
fi
