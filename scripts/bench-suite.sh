#!/usr/bin/env bash
# The comparison suite: installs what is missing (cairn's build dependencies, and Debian's
# Python 3 with numpy, torch and h5py, and fio), builds the suite's worker in Release, and runs
# cairn against raw write()/read(), torch.save, numpy.savez, h5py and the machine's limits
# (first touch of fresh memory, memcpy, pread, fio's direct write) on the same states, after
# loading an Orbax checkpoint against cairn's (bench/orbax_bench) and saving in Orbax's format
# against cairn's (bench/orbax_save_bench). Prints the tables and writes
# bench/results/orbax_load.txt, orbax_save.txt and suite.{md,json,csv}. Takes about 17 minutes.
# Arguments go to bench/suite/run_suite.py (--runs, --dir, --skip, ...; see --help);
# `--only limits` runs the rows set against the machine's limits alone, without the Orbax
# loads and saves, and writes bench/results/suite-limits.{md,json,csv}.
# CAIRN_BENCH_DIR picks the file system to save to (default /var/tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh python3 python3-numpy python3-torch python3-h5py \
  util-linux util-linux-extra fio
bash scripts/build.sh build-bench -DCMAKE_BUILD_TYPE=Release -DCAIRN_BUILD_TESTS=OFF \
  -DCAIRN_BUILD_EXAMPLES=OFF
# Orbax's format (OCDBT + zarr v3, as Orbax's v1 API writes it) against cairn's own on the same
# 1 GiB state, whole and one array, warm and cold: the orbax_load_vs_cairn= line.
mkdir -p bench/results
case " $* " in
  *" --only "* | *" --only="*) ;;
  *)
    CAIRN_BENCH_DIR=${CAIRN_BENCH_DIR:-/var/tmp} build-bench/bench/orbax_bench 5 |
      tee bench/results/orbax_load.txt
    # Saving the same kind of state in Orbax's format: the orbax_save_vs_cairn= line.
    CAIRN_BENCH_DIR=${CAIRN_BENCH_DIR:-/var/tmp} build-bench/bench/orbax_save_bench 5 |
      tee bench/results/orbax_save.txt
    ;;
esac
# Debian's interpreter, where the peers' packages are, whatever python3 comes first in PATH.
exec /usr/bin/python3 bench/suite/run_suite.py --worker build-bench/bench/suite_worker "$@"
