#!/usr/bin/env bash
# The ctest of zarrita reading cairn's zarr v3 arrays: the fixture writes arrays (a directory
# per array) and the bytes they hold, then zarrita_check.mjs reads them back.
#   zarrita_check.sh FIXTURE_BINARY NPM_DIR
# Without node or zarrita it skips (exit 77), except under CI, where it fails.
set -euo pipefail
fixture="$1"
npm_dir="$2"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/require_zarrita.sh" "$npm_dir"
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT
"$fixture" "$data"
node "$here/zarrita_check.mjs" "$npm_dir" "$data"
