#!/usr/bin/env bash
# Installs the Debian packages cairn needs to build, test, benchmark and fuzz, when any is missing.
# Safe to run again: with everything present it only asks dpkg and returns. Further packages
# given as arguments are installed alike (scripts/bench-suite.sh passes the peers' packages).
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  libabsl-dev libprotobuf-dev protobuf-compiler libzstd-dev libinotifytools0-dev
  libxxhash-dev nlohmann-json3-dev zlib1g-dev libcli11-dev
  tmux
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev
  openmpi-bin libopenmpi-dev
  pybind11-dev python3-dev python3-numpy python3-pytest python3-torch
  python3-zstandard fio
  "$@"
)
# node and npm run zarrita, the second reader of the zarr v3 arrays cairn writes
# (tests/tools/zarrita_check.mjs). A node from elsewhere that brings its own npm is kept, since
# Debian's npm package would conflict with it.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
