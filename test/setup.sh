#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0

# Make sure the tools `make test` needs are installed. As root on Debian,
# installs what is missing in one apt-get run (after apt-get update);
# otherwise says what to install. Go 1.26+ and gcc must be there already.
set -euo pipefail

need=()  # Debian packages whose command or file is missing
cmd() { command -v "$1" >/dev/null 2>&1 || need+=("$2"); }
file() { [ -e "$1" ] || need+=("$2"); }
cmd g++ g++
cmd cmake cmake
cmd python3 python3
cmd readelf binutils
cmd openssl openssl                       # core/sign tests compare with `openssl enc`
cmd pkg-config pkg-config                 # install test
cmd lintian lintian                       # deb test: every package lintian-clean
cmd coap-client-notls libcoap3-bin        # enos-sim is checked against libcoap's client
cmd coap-client-openssl libcoap3-bin      # DTLS interop: libcoap with OpenSSL, client and server
cmd valgrind valgrind                     # C tests under valgrind
cmd aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu      # make cross
cmd arm-linux-gnueabihf-gcc gcc-arm-linux-gnueabihf
# The cross C libraries' headers and libc.so are only Recommends of the cross
# compilers, which --no-install-recommends below leaves out.
file /usr/aarch64-linux-gnu/lib/libc.so libc6-dev-arm64-cross
file /usr/arm-linux-gnueabihf/lib/libc.so libc6-dev-armhf-cross
cmd qemu-aarch64 qemu-user                # cross tests run under qemu
file /usr/include/openssl/evp.h libssl-dev           # benchmarks: the OpenSSL reference
file /usr/include/coap3/coap.h libcoap3-dev          # benchmarks: the libcoap reference client

for tool in go gcc; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "setup: $tool is required and not installed (Go 1.26+ and gcc)" >&2
    exit 1
  fi
done

[ ${#need[@]} -eq 0 ] && exit 0
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "setup: missing tools; install them with: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
