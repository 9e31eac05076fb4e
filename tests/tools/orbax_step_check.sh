#!/usr/bin/env bash
# The ctest of a C++ trainer's Orbax-format run read by readers cairn did not write:
# examples/train_loop saves steps with --format orbax; the last step's pytree database is decoded
# by tests/tools/ocdbt_dump.py (Python, written from TensorStore's format document) into one file
# per key, and npm's zarrita reads every array from those files; both must agree with what
# cairn's own reader loads (tests/tools/orbax_step_expect.cc).
#   orbax_step_check.sh TRAIN_LOOP EXPECT_BINARY NPM_DIR
# Without node or zarrita it skips (exit 77), except under CI, where it fails.
set -euo pipefail
train_loop="$1"
expect="$2"
npm_dir="$3"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/require_zarrita.sh" "$npm_dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$train_loop" "$work/run" --steps 10 --save-every 5 --format orbax
step="$work/run/10"
for file in orbax.checkpoint _CHECKPOINT_METADATA state/_METADATA state/manifest.ocdbt; do
  if [ ! -f "$step/$file" ]; then
    echo "FAIL: the Orbax-format step has no $file"
    exit 1
  fi
done
grep -q '"orbax.checkpoint.experimental.v1._src.handlers.pytree_handler.PyTreeHandler"' \
  "$step/_CHECKPOINT_METADATA" || { echo "FAIL: state is not recorded with Orbax's handler"; exit 1; }
/usr/bin/python3 "$here/ocdbt_dump.py" --extract "$work/zarr" "$step/state"
"$expect" "$step/state" "$work/zarr"
node "$here/zarrita_check.mjs" "$npm_dir" "$work/zarr"
