#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Test of tools/spdx.sh on sample files in a temporary directory: --check fails
# while a header is missing, write mode adds one in each file's comment syntax
# (after a "#!" line), the files still build and run (Go with a build
# constraint and a package doc comment, C89, an ld version script, shell,
# Python), a second run changes nothing, and --check then passes.
# Prints "N passed, N failed"; exit status 0 if all passed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
spdx=$root/tools/spdx.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enos-spdx.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
check() { # description command...
  local what=$1; shift
  if "$@" >"$tmp/log" 2>&1; then echo "ok: $what"; passed=$((passed + 1))
  else echo "FAIL: $what"; sed 's/^/    /' "$tmp/log"; failed=$((failed + 1)); fi
}

d=$tmp/src
mkdir -p "$d/pkg" "$d/testdata"
printf '//go:build linux\n\n// Package pkg is a sample.\npackage pkg\n\n// Answer is 42.\nconst Answer = 42\n' >"$d/pkg/pkg.go"
printf 'module example.com/spdx\n\ngo 1.21\n' >"$d/go.mod"
printf '#include <stdio.h>\nint main(void) { puts("c ok"); return 0; }\n' >"$d/main.c"
printf 'V_1 { global: f; local: *; };\n' >"$d/lib.map"
printf 'int f(void) { return 1; }\n' >"$d/lib.c"
printf '#!/bin/sh\necho sh ok\n' >"$d/run.sh"; chmod 0755 "$d/run.sh"
printf '#!/usr/bin/env python3\n"""Doc."""\nprint("py ok")\n' >"$d/tool.py"
printf 'all:\n\t@echo make ok\n' >"$d/Makefile"
: >"$d/empty.mk"
printf 'not source\n' >"$d/testdata/corpus.go" # fuzz corpora are data
files=("$d/pkg/pkg.go" "$d/main.c" "$d/lib.map" "$d/lib.c" "$d/run.sh" "$d/tool.py" "$d/Makefile" "$d/empty.mk" "$d/testdata/corpus.go")

check "--check fails and names the files without a header" \
  sh -c "! '$spdx' --check $(printf "'%s' " "${files[@]}") >'$tmp/c.out' 2>&1 && grep -q 'pkg.go' '$tmp/c.out' && ! grep -q corpus '$tmp/c.out'"
check "write mode adds the headers" "$spdx" "${files[@]}"
check "Go: // comment, first line, blank line before the build constraint" \
  test "$(head -n 3 "$d/pkg/pkg.go")" = "$(printf '// SPDX-License-Identifier: Apache-2.0\n\n//go:build linux')"
check "C and ld version script: /* */ comment" \
  sh -c "head -n 1 '$d/main.c' | grep -qx '/\\* SPDX-License-Identifier: Apache-2.0 \\*/' &&
         head -n 1 '$d/lib.map' | grep -qx '/\\* SPDX-License-Identifier: Apache-2.0 \\*/'"
check "shell and Python: # comment after the #! line" \
  sh -c "sed -n 2p '$d/run.sh' | grep -qx '# SPDX-License-Identifier: Apache-2.0' && head -n 1 '$d/tool.py' | grep -q '^#!'"
check "executable bit kept" test -x "$d/run.sh"
check "empty file gets the header" grep -qx '# SPDX-License-Identifier: Apache-2.0' "$d/empty.mk"
check "fuzz corpus under testdata/ untouched" test "$(cat "$d/testdata/corpus.go")" = "not source"
if command -v go >/dev/null; then
  check "Go still builds, gofmt-clean, and the package doc comment is intact" \
    sh -c "cd '$d' && GOFLAGS=-mod=mod go vet ./pkg && test -z \"\$(gofmt -l pkg)\" &&
           go doc ./pkg | grep -q 'Package pkg is a sample'"
fi
check "C89 compiles" sh -c "cd '$d' && ${CC:-cc} -std=c89 -pedantic -Werror -o main main.c && ./main | grep -q 'c ok'"
check "ld accepts the version script" \
  sh -c "cd '$d' && ${CC:-cc} -shared -fPIC -Wl,--version-script=lib.map -o lib.so lib.c"
check "shell, Python and make still run" \
  sh -c "cd '$d' && ./run.sh | grep -q 'sh ok' && python3 tool.py | grep -q 'py ok' && make -s | grep -q 'make ok'"
sums=$(cd "$d" && md5sum pkg/pkg.go main.c lib.map run.sh tool.py Makefile empty.mk)
check "a second run changes nothing" sh -c "'$spdx' $(printf "'%s' " "${files[@]}") && test \"\$(cd '$d' && md5sum pkg/pkg.go main.c lib.map run.sh tool.py Makefile empty.mk)\" = '$sums'"
check "--check passes" "$spdx" --check "${files[@]}"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
