#!/usr/bin/env bash
# Quick start, the main job: installs what is missing, builds, and runs the demos: the store
# saving and loading one tree; a training run that is preempted and resumes; a trainer and an
# evaluator that follows it, scoring every step while retention keeps only two; then the Python
# package, installed for /usr/bin/python3, running its own trainer and evaluator.
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

echo "== a trainer keeping 2 steps, and an evaluator scoring every step as it lands"
# The evaluator starts first, before the run's directory exists, and waits for it.
./build/examples/evaluate_run "$demo_dir/live" --until-step 60 --timeout-secs 60 &
evaluator=$!
./build/examples/train_loop "$demo_dir/live" --steps 60 --save-every 5 --max-to-keep 2 --step-ms 20
wait "$evaluator"

echo "== the Python package: installed, then a save, a load, a trainer and an evaluator"
cmake --install build --component python
repo=$PWD
# From outside the tree, so that the installed package is the one imported.
(cd "$demo_dir" && /usr/bin/python3 -c 'import cairn; print("cairn imported from", cairn.__file__)')
(cd "$demo_dir" && /usr/bin/python3 "$repo/python/examples/train_and_evaluate.py" "$demo_dir/py")
echo "demo ok"
