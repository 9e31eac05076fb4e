#!/usr/bin/env bash
# Quick start, the main job: installs what is missing, builds, and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh build -DCMAKE_BUILD_TYPE=Release -DCAIRN_BUILD_TESTS=OFF
demo_dir=$(mktemp -d)
trap 'rm -rf "$demo_dir"' EXIT
./build/examples/save_and_load "$demo_dir/run"
