// Writes the arrays that tests/tools/zarrita_check.mjs reads with zarrita: each in its own
// directory below DIR (Orbax's per-leaf layout, through DirectoryKeyValueSink), the bytes it
// holds in DIR/expected/<path>.raw, and the list in DIR/manifest.json. The arrays cover the
// dtypes zarrita reads, both codecs, many shards and inner chunks with edges, inner chunks
// strided through the array, regions written separately, and a scalar.
//   cairn_zarrita_fixture DIR
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cairn/storage/array.h"
#include "cairn/storage/zarr/key_value_sink.h"
#include "cairn/storage/zarr/zarr_writer.h"
#include "cairn/utils/filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"
#include "nlohmann/json.hpp"

namespace cairn {
namespace {

// Distinct, exactly representable values: integers from a mixing sequence (bools alternate in
// a pattern), floats as multiples of 1/8 with signs.
Array Values(DType dtype, Shape shape) {
  Array array = Array::Allocate(dtype, std::move(shape)).value();
  const uint64_t n = array.num_elements();
  std::vector<double> doubles(n);
  std::vector<uint64_t> bits(n);
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (uint64_t i = 0; i < n; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    bits[i] = state;
    doubles[i] = (static_cast<double>(i % 97) - 40.0) / 8.0;
  }
  if (dtype == DType::kFloat32 || dtype == DType::kFloat64) {
    CastElements(DType::kFloat64, doubles.data(), dtype, array.mutable_data(), n);
  } else if (dtype == DType::kBool) {
    auto* out = static_cast<unsigned char*>(array.mutable_data());
    for (uint64_t i = 0; i < n; ++i) out[i] = (bits[i] >> 11) & 1;
  } else {
    // The low bytes of each 64-bit value: every bit pattern of the narrower integer.
    auto* out = static_cast<char*>(array.mutable_data());
    const size_t width = DTypeSize(dtype);
    for (uint64_t i = 0; i < n; ++i) {
      for (size_t b = 0; b < width; ++b) out[i * width + b] = static_cast<char>(bits[i] >> (8 * b));
    }
  }
  return array;
}

struct Case {
  std::string path;
  Array array;
  Zarr3WriteOptions options;
  int regions = 1;  // written as this many pieces along dimension 0
};

absl::Status WriteCase(Filesystem& fs, const std::string& dir, const Case& c) {
  DirectoryKeyValueSink sink(fs, dir, /*sync=*/false);
  const Shape& shape = c.array.shape();
  const int64_t rows = shape.empty() ? 1 : shape[0] / c.regions;
  for (int region = 0; region < c.regions; ++region) {
    Zarr3WriteOptions options = c.options;
    Array piece = c.array;
    if (c.regions > 1) {
      Shape piece_shape = shape;
      piece_shape[0] = rows;
      const uint64_t row_bytes = c.array.byte_size() / shape[0];
      piece = Array::Borrow(c.array.dtype(), piece_shape,
                            static_cast<const char*>(c.array.data()) + region * rows * row_bytes);
      Shape origin(shape.size(), 0);
      origin[0] = region * rows;
      options.global_shape = shape;
      options.origin = origin;
      options.write_metadata = region == 0;
    }
    CAIRN_RETURN_IF_ERROR(WriteZarr3Array(sink, c.path, piece, options));
  }
  const std::string raw = JoinPath(JoinPath(dir, "expected"), c.path + ".raw");
  CAIRN_RETURN_IF_ERROR(CreateDirs(fs, ParentPath(raw)));
  return WriteStringToFile(
      fs, raw, absl::string_view(static_cast<const char*>(c.array.data()), c.array.byte_size()),
      /*sync=*/false);
}

absl::Status Run(const std::string& dir) {
  Filesystem& fs = *Filesystem::Default();
  CAIRN_RETURN_IF_ERROR(CreateDirs(fs, dir));
  Zarr3WriteOptions zstd;
  Zarr3WriteOptions none;
  none.compression = Zarr3Compression::kNone;
  std::vector<Case> cases;
  for (DType dtype :
       {DType::kBool, DType::kInt8, DType::kInt16, DType::kInt32, DType::kInt64, DType::kUInt8,
        DType::kUInt16, DType::kUInt32, DType::kUInt64, DType::kFloat32, DType::kFloat64}) {
    cases.push_back({absl::StrCat(DTypeName(dtype), "_zstd"), Values(dtype, {5, 3}), zstd});
    cases.push_back({absl::StrCat(DTypeName(dtype), "_none"), Values(dtype, {5, 3}), none});
  }
  // Shards of (4, 6) in inner chunks of (2, 6); the last shard reaches past the array.
  Zarr3WriteOptions edges = zstd;
  edges.shard_shape = Shape{4, 6};
  edges.inner_chunk_bytes = 2 * 6 * 4;
  cases.push_back({"edges/int32", Values(DType::kInt32, {10, 6}), edges});
  edges.compression = Zarr3Compression::kNone;
  cases.push_back({"edges/float32_none", Values(DType::kFloat32, {10, 6}), edges});
  // Inner chunks of (3, 4, 1) strided through a (3, 4, 5) array.
  Zarr3WriteOptions strided = zstd;
  strided.inner_chunk_bytes = 30 * 8;
  cases.push_back({"params/dense/kernel", Values(DType::kFloat64, {3, 4, 5}), strided});
  // Two processes' regions of one array, each a shard.
  cases.push_back({"regions/int64", Values(DType::kInt64, {8, 2}), zstd, 2});
  cases.push_back({"scalar/float32", Values(DType::kFloat32, {}), zstd});
  cases.push_back({"scalar/uint16_none", Values(DType::kUInt16, {}), none});

  nlohmann::json manifest = nlohmann::json::array();
  for (const Case& c : cases) {
    CAIRN_RETURN_IF_ERROR(WriteCase(fs, dir, c));
    manifest.push_back({{"path", c.path},
                        {"dtype", std::string(DTypeName(c.array.dtype()))},
                        {"shape", c.array.shape()}});
  }
  return WriteStringToFile(fs, JoinPath(dir, "manifest.json"), manifest.dump(1),
                           /*sync=*/false);
}

}  // namespace
}  // namespace cairn

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const absl::Status status = cairn::Run(argv[1]);
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
