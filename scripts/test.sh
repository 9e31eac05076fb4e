#!/usr/bin/env bash
# Quick start, every test: installs what is missing, builds, and runs the whole suite three
# times (optimised; under AddressSanitizer + UndefinedBehaviorSanitizer; under ThreadSanitizer),
# then runs each fuzz target for a short while.
#   CAIRN_FUZZ_SECONDS   seconds per fuzz target (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
start=$SECONDS

echo "== release build and tests"
bash scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo
bash tests/tools/install_zarrita.sh build/npm
ctest --test-dir build --output-on-failure --parallel "$(nproc)" --timeout 600

# The sanitizer builds leave out the benchmarks, the examples and the install test, which add
# build time and no concurrency or memory paths of their own, and the Python package (an
# extension under a sanitizer needs its runtime preloaded into the interpreter).
echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
bash scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug "-DCAIRN_SANITIZE=address;undefined" \
  -DCAIRN_BUILD_BENCH=OFF -DCAIRN_BUILD_EXAMPLES=OFF -DCAIRN_BUILD_PYTHON=OFF
bash tests/tools/install_zarrita.sh build-asan/npm
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure --parallel "$(nproc)" --timeout 900 -E install_consumer

echo "== ThreadSanitizer"
# -O1 and line tables only: TSan's reports keep their stack lines, and the build takes much less.
# The tests of formats, parsers and casts run on one thread and ran under ASan just now: left out.
single_threaded='/(dtype|cast_agreement|format_vectors|json_depth|text_encoding|step_names|tree|'
single_threaded+='tree_depth|crc32c|shard_overlap|commit_marker|corruption_sweep|fuzz_regression|'
single_threaded+='ocdbt_(bad_input|corruption|encoder|golden)|orbax_pytree_metadata|zarr_bad_input|'
single_threaded+='zarr_v2_vectors|no_symlink_open|memory_filesystem|fault_injection_filesystem|'
single_threaded+='checkpoint_read_limits|safetensors_(validation|roundtrip|faults|js_reader)|'
single_threaded+='tree_(comparison|selection|verification))_test\.cc$'
# The command line's tests run its binary, one process and one thread at a time, and the calls
# it makes are tested here directly: the TSan build leaves the command out.
bash scripts/build.sh build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAIRN_SANITIZE=thread \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" -DCAIRN_BUILD_BENCH=OFF \
  -DCAIRN_BUILD_EXAMPLES=OFF -DCAIRN_BUILD_CLI=OFF -DCAIRN_BUILD_PYTHON=OFF "-DCAIRN_TESTS_EXCLUDE=$single_threaded"
bash tests/tools/install_zarrita.sh build-tsan/npm
TSAN_OPTIONS="halt_on_error=1 history_size=7 suppressions=$PWD/tests/tsan_suppressions.txt" \
  ctest --test-dir build-tsan --output-on-failure --parallel "$(nproc)" --timeout 900 -E install_consumer

echo "== fuzzing (libFuzzer + ASan + UBSan)"
bash scripts/fuzz.sh "${CAIRN_FUZZ_SECONDS:-20}"

echo "== every stage passed in $((SECONDS - start)) s"
