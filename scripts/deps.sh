#!/usr/bin/env bash
# Make sure the Debian packages Vigil needs are installed.
#   scripts/deps.sh [build|test]
# As root, missing packages are installed with apt-get. Otherwise the exact
# command is printed and the script fails, so nothing half-works.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config git
  libuv1-dev libjansson-dev libcurl4-openssl-dev libsqlite3-dev zlib1g-dev libssl-dev
  libxml2-dev libicu-dev libvectorscan-dev libmicrohttpd-dev
  libexttextcat-dev libstemmer-dev libnats-dev)
# The sanitizer build and the fuzzers use clang's runtimes as well; the
# scale-out tests start real NATS servers.
test_pkgs=(clang libclang-rt-14-dev nats-server)

want=("${build_pkgs[@]}")
if [ "${1:-build}" = "test" ]; then
  want+=("${test_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  $cmd >&2
else
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "install them with:" >&2
  echo "  sudo apt-get update && sudo $cmd" >&2
  exit 1
fi
