#!/usr/bin/env bash
# The Python benchmark: cairn's Python package against torch.save/torch.load, numpy.savez and
# h5py in one interpreter, and against the same saves from C++, on the comparison suite's 1 GiB
# state. Installs what is missing (the peers' Debian packages too), builds the suite's worker
# and the package in Release, and prints the table and the py_*= ratios (docs/PYTHON.md).
# Arguments go to bench/suite/python_bench.py (--runs, --dir). Takes about 5 minutes.
# CAIRN_BENCH_DIR picks the file system to save to (default /var/tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh python3-torch python3-h5py
bash scripts/build.sh build-bench -DCMAKE_BUILD_TYPE=Release -DCAIRN_BUILD_TESTS=OFF \
  -DCAIRN_BUILD_EXAMPLES=OFF
PYTHONPATH=build-bench/python exec /usr/bin/python3 bench/suite/python_bench.py \
  --worker build-bench/bench/suite_worker "$@"
