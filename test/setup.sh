#!/usr/bin/env bash
# Make sure the tools `make test` needs are installed. As root on Debian,
# installs what is missing (apt-get update first); otherwise says what to install.
# Needs: Go and gcc (not installed here), g++, cmake/ctest, python3, binutils.
set -euo pipefail

need=()  # Debian packages for missing commands
check() { command -v "$1" >/dev/null 2>&1 || need+=("$2"); }
check g++ g++
check cmake cmake
check ctest cmake
check python3 python3
check readelf binutils
check nm binutils
check openssl openssl   # core/sign tests compare with `openssl enc` (they skip without it)
# Optional: libcoap's command-line client, handy to poke enos-sim by hand.
optional=()
command -v coap-client >/dev/null 2>&1 || command -v coap-client-notls >/dev/null 2>&1 || optional+=(libcoap3-bin)

for tool in go gcc; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "setup: $tool is required and not installed (Go 1.26+ and gcc)" >&2
    exit 1
  fi
done

mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u | sed '/^$/d')
if [ ${#need[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing ${need[*]} ${optional[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if [ ${#need[@]} -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  if [ ${#optional[@]} -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends "${optional[@]}" >/dev/null || \
      echo "setup: optional ${optional[*]} not installed (not needed by the tests)"
  fi
elif [ ${#need[@]} -gt 0 ]; then
  echo "setup: missing tools; install them with: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
