#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, ASan and UBSan into build-fuzz, writes their
# seed corpora from freshly saved checkpoints, and runs each target for a while:
#   scripts/fuzz.sh [seconds_per_target]   (default 60)
# Each target's corpus persists in build-fuzz/fuzz-corpus/<target>, so runs accumulate. Exits
# non-zero when a target finds a crash, leak, timeout or out-of-memory, and prints the path of
# the input that caused it (kept in build-fuzz/fuzz-artifacts/<target>/).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
targets=(index_fuzzer checkpoint_metadata_fuzzer step_name_fuzzer load_fuzzer ocdbt_fuzzer
  zarr_fuzzer orbax_metadata_fuzzer safetensors_fuzzer)
build=build-fuzz

bash scripts/install-deps.sh

echo "== fuzz build (clang, libFuzzer, ASan, UBSan)"
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCAIRN_BUILD_FUZZERS=ON -DCAIRN_BUILD_TESTS=OFF -DCAIRN_BUILD_BENCH=OFF \
  -DCAIRN_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]}" cairn_fuzz_seeds

seeds="$build/fuzz-seeds"
rm -rf "$seeds"
golden=${CAIRN_SHARED_DIR:-../shared}/orbax-golden
# The load fuzzer's seeds include the real Orbax checkpoints beside the checkout, when present.
if [ -d "$golden" ]; then
  "$build/fuzz/cairn_fuzz_seeds" "$seeds" "$golden"
else
  "$build/fuzz/cairn_fuzz_seeds" "$seeds"
fi
# OCDBT seeds: the manifests and nodes of the real Orbax checkpoints beside the checkout.
mkdir -p "$seeds/ocdbt"
if [ -d "$golden" ]; then
  i=0
  while IFS= read -r -d '' file; do
    cp "$file" "$seeds/ocdbt/golden_$i"
    i=$((i + 1))
  done < <(find "$golden" \( -name manifest.ocdbt -o -path '*/d/*' \) -type f -print0)
fi
# Orbax pytree metadata seeds: every _METADATA of the real checkpoints, and one of each leaf kind.
mkdir -p "$seeds/orbax_metadata"
if [ -d "$golden" ]; then
  i=0
  while IFS= read -r -d '' file; do
    cp "$file" "$seeds/orbax_metadata/golden_$i"
    i=$((i + 1))
  done < <(find "$golden" -name _METADATA -type f -print0)
fi
printf '%s' '{"tree_metadata": {"(0,)": {"key_metadata": [{"key": "l", "key_type": 2}, {"key": "0", "key_type": 1}], "value_metadata": {"value_type": "scalar"}}, "(s,)": {"key_metadata": [{"key": "s", "key_type": 2}], "value_metadata": {"value_type": "string"}}, "(e,)": {"key_metadata": [{"key": "e", "key_type": 2}], "value_metadata": {"value_type": "Dict", "skip_deserialize": true}}}, "use_ocdbt": false, "store_array_data_equal_to_fill_value": false}' \
  >"$seeds/orbax_metadata/kinds"
# zarr seeds: a format byte, the metadata, a NUL, then one chunk's bytes; from the v2 vectors,
# and a sharded v3 array of two inner chunks, its index after them.
mkdir -p "$seeds/zarr"
i=0
for array in tests/data/zarr/v2/*/; do
  chunk=$(find "$array" -type f ! -name .zarray | sort | head -n 1)
  {
    printf '\x00'
    cat "$array/.zarray"
    printf '\x00'
    if [ -n "$chunk" ]; then cat "$chunk"; fi
  } >"$seeds/zarr/v2_$i"
  i=$((i + 1))
done
{
  printf '\x01{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint8",'
  printf '"chunk_grid":{"name":"regular","configuration":{"chunk_shape":[4]}},"fill_value":0,'
  printf '"codecs":[{"name":"sharding_indexed","configuration":{"chunk_shape":[2],'
  printf '"codecs":[{"name":"bytes"}],"index_codecs":[{"name":"bytes","configuration":'
  printf '{"endian":"little"}}]}}]}\x00'
  printf '\x01\x02\x03\x04'
  printf '\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00'
  printf '\x02\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00'
} >"$seeds/zarr/v3_sharded"

# safetensors seeds: a file of two tensors and metadata, and an empty one.
mkdir -p "$seeds/safetensors"
safetensors_seed() {
  local header=$1 data=$2 n=${#1} i
  for i in 0 1 2 3 4 5 6 7; do printf "\\x$(printf %02x $(((n >> (8 * i)) & 255)))"; done
  printf '%s%s' "$header" "$data"
}
safetensors_seed '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2,2],"data_offsets":[4,8]},"__metadata__":{"format":"pt"}}' 'abcdefgh' \
  >"$seeds/safetensors/two_tensors"
safetensors_seed '{}      ' '' >"$seeds/safetensors/empty"

# Inputs the targets read: the load fuzzer's archives hold whole checkpoints.
max_len() {
  case $1 in
    load_fuzzer) echo 262144 ;;
    step_name_fuzzer) echo 256 ;;
    *) echo 65536 ;;
  esac
}
seed_dir() {
  case $1 in
    index_fuzzer) echo index ;;
    checkpoint_metadata_fuzzer) echo checkpoint_metadata ;;
    step_name_fuzzer) echo step_name ;;
    load_fuzzer) echo load ;;
    ocdbt_fuzzer) echo ocdbt ;;
    zarr_fuzzer) echo zarr ;;
    orbax_metadata_fuzzer) echo orbax_metadata ;;
    safetensors_fuzzer) echo safetensors ;;
  esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
summary=()
for target in "${targets[@]}"; do
  corpus="$build/fuzz-corpus/$target"
  artifacts="$build/fuzz-artifacts/$target"
  log="$build/fuzz-logs/$target.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  echo "== $target: ${seconds}s"
  status=0
  "$build/fuzz/$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -max_len="$(max_len "$target")" -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$corpus" "$seeds/$(seed_dir "$target")" >"$log" 2>&1 || status=$?
  executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  corpus_size=$(find "$corpus" -type f | wc -l)
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log"
    artifact=$(ls -t "$artifacts"/{crash,leak,timeout,oom,slow-unit}-* 2>/dev/null | head -n 1 || true)
    echo "$target FAILED (exit $status); input: ${artifact:-none written}; log: $log"
    echo "  reproduce: $build/fuzz/$target ${artifact:-<input>}"
    failed+=("$target")
    summary+=("$target: FAILED after ${executions:-?} executions, input ${artifact:-none}")
  else
    echo "$target: ${executions:-?} executions, corpus of $corpus_size inputs"
    summary+=("$target: ok, ${executions:-?} executions, corpus $corpus_size")
  fi
done

echo "== fuzz summary (${seconds}s per target)"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzzing found failures in: ${failed[*]}"
  exit 1
fi
echo "all ${#targets[@]} fuzz targets ran clean"
