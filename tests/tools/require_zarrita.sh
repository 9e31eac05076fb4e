# Sourced by the ctests that run zarrita: ends the test as skipped (exit 77) when node or
# zarrita is missing from NPM_DIR ($1), except under CI, where that fails it.
if ! command -v node >/dev/null || [ ! -f "$1/node_modules/zarrita/package.json" ]; then
  echo "zarrita is not installed in $1 (bash tests/tools/install_zarrita.sh $1)"
  if [ -n "${CI:-}" ]; then exit 1; fi
  exit 77
fi
