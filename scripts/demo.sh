#!/usr/bin/env bash
# Quick start, the main job: installs what is missing, builds, and runs the demos: the store
# saving and loading one tree, then a training run that is preempted and resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh build -DCMAKE_BUILD_TYPE=Release -DCAIRN_BUILD_TESTS=OFF
demo_dir=$(mktemp -d)
trap 'rm -rf "$demo_dir"' EXIT

echo "== the store: one tree saved, described and loaded three ways"
./build/examples/save_and_load "$demo_dir/store"

echo "== a training run: saves every 5 steps, keeps 3 (and the best), preempted at step 23"
./build/examples/train_loop "$demo_dir/run" --steps 40 --stop-at 23
echo "== the same run started again: it resumes from its latest step"
./build/examples/train_loop "$demo_dir/run" --steps 40
