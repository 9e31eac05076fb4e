#!/usr/bin/env bash
# Installs npm's zarrita (the independent zarr v3 reader of tests/tools/zarrita_check.mjs) into
# DIR/node_modules, when it is not there yet. scripts/test.sh runs it before ctest.
#   bash tests/tools/install_zarrita.sh DIR
set -euo pipefail
dir="${1:?usage: install_zarrita.sh DIR}"
if [ -f "$dir/node_modules/zarrita/package.json" ]; then
  exit 0
fi
mkdir -p "$dir"
npm install --prefix "$dir" --no-audit --no-fund --loglevel=error zarrita@0.7.5
