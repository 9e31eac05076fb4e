#include "tests/support/orbax_pytree_writer.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn::orbax_test {
namespace {

// zarr v2's typestr of a cairn dtype, little-endian.
std::string TypeStr(DType dtype) {
  switch (dtype) {
    case DType::kBool:
      return "|b1";
    case DType::kInt8:
      return "|i1";
    case DType::kUInt8:
      return "|u1";
    case DType::kInt16:
      return "<i2";
    case DType::kUInt16:
      return "<u2";
    case DType::kInt32:
      return "<i4";
    case DType::kUInt32:
      return "<u4";
    case DType::kInt64:
      return "<i8";
    case DType::kUInt64:
      return "<u8";
    case DType::kFloat16:
      return "<f2";
    case DType::kFloat32:
      return "<f4";
    case DType::kFloat64:
      return "<f8";
    case DType::kComplex64:
      return "<c8";
    case DType::kComplex128:
      return "<c16";
    case DType::kBFloat16:
      return "bfloat16";
    default:
      return std::string(DTypeName(dtype));
  }
}

}  // namespace

std::string OrbaxPyTreeWriter::ParamName(const std::vector<Key>& keys) {
  std::vector<std::string> names;
  for (const Key& key : keys) names.push_back(key.name);
  return absl::StrJoin(names, ".");
}

void OrbaxPyTreeWriter::AddArray(std::vector<Key> keys, const Array& array,
                                 std::vector<int64_t> chunks, std::string value_type) {
  Leaf leaf;
  leaf.keys = std::move(keys);
  leaf.value_type = std::move(value_type);
  leaf.array = array;
  leaf.chunks = chunks.empty() ? array.shape() : std::move(chunks);
  leaves_.push_back(std::move(leaf));
}

void OrbaxPyTreeWriter::AddString(std::vector<Key> keys, std::string value) {
  Leaf leaf;
  leaf.keys = std::move(keys);
  leaf.value_type = "string";
  leaf.text = std::move(value);
  leaves_.push_back(std::move(leaf));
}

void OrbaxPyTreeWriter::AddEmpty(std::vector<Key> keys, std::string value_type) {
  Leaf leaf;
  leaf.keys = std::move(keys);
  leaf.value_type = std::move(value_type);
  leaves_.push_back(std::move(leaf));
}

void OrbaxPyTreeWriter::SkipLast() { leaves_.back().skip = true; }

absl::Status OrbaxPyTreeWriter::WriteArray(Filesystem& fs, const std::string& dir,
                                           const Leaf& leaf) const {
  const Array& array = *leaf.array;
  const std::string array_dir = JoinPath(dir, ParamName(leaf.keys));
  CAIRN_RETURN_IF_ERROR(CreateDirs(fs, array_dir));
  const nlohmann::json zarray = {{"zarr_format", 2},      {"shape", array.shape()},
                                 {"chunks", leaf.chunks}, {"dtype", TypeStr(array.dtype())},
                                 {"compressor", nullptr}, {"fill_value", 0},
                                 {"order", "C"},          {"filters", nullptr}};
  CAIRN_RETURN_IF_ERROR(
      WriteStringToFile(fs, JoinPath(array_dir, ".zarray"), zarray.dump(), false));
  const size_t rank = array.shape().size();
  const size_t width = DTypeSize(array.dtype());
  std::vector<int64_t> grid(rank);
  uint64_t cells = 1;
  for (size_t d = 0; d < rank; ++d) {
    grid[d] = (array.shape()[d] + leaf.chunks[d] - 1) / leaf.chunks[d];
    cells *= static_cast<uint64_t>(grid[d]);
  }
  const char* src = static_cast<const char*>(array.data());
  for (uint64_t cell = 0; cell < cells; ++cell) {
    std::vector<int64_t> index(rank);
    uint64_t rest = cell;
    for (size_t d = rank; d > 0; --d) {
      index[d - 1] = static_cast<int64_t>(rest % static_cast<uint64_t>(grid[d - 1]));
      rest /= static_cast<uint64_t>(grid[d - 1]);
    }
    // The chunk at full size, row-major, zero beyond the array's edge.
    uint64_t volume = 1;
    for (int64_t c : leaf.chunks) volume *= static_cast<uint64_t>(c);
    std::string bytes(volume * width, '\0');
    bool nonzero = false;
    for (uint64_t e = 0; e < volume; ++e) {
      uint64_t rest_e = e, flat = 0;
      bool inside = true;
      std::vector<int64_t> at(rank);
      for (size_t d = rank; d > 0; --d) {
        at[d - 1] = static_cast<int64_t>(rest_e % static_cast<uint64_t>(leaf.chunks[d - 1]));
        rest_e /= static_cast<uint64_t>(leaf.chunks[d - 1]);
      }
      for (size_t d = 0; d < rank; ++d) {
        const int64_t g = index[d] * leaf.chunks[d] + at[d];
        inside = inside && g < array.shape()[d];
        flat = flat * static_cast<uint64_t>(array.shape()[d]) + static_cast<uint64_t>(g);
      }
      if (!inside) continue;
      std::memcpy(&bytes[e * width], src + flat * width, width);
      for (size_t b = 0; b < width; ++b) nonzero = nonzero || bytes[e * width + b] != 0;
    }
    if (omit_zero_chunks_ && !nonzero) continue;
    std::vector<std::string> parts;
    for (int64_t i : index) parts.push_back(absl::StrCat(i));
    const std::string key = rank == 0 ? "0" : absl::StrJoin(parts, ".");
    CAIRN_RETURN_IF_ERROR(WriteStringToFile(fs, JoinPath(array_dir, key), bytes, false));
  }
  return absl::OkStatus();
}

absl::Status OrbaxPyTreeWriter::Write(Filesystem& fs, const std::string& dir) const {
  CAIRN_RETURN_IF_ERROR(CreateDirs(fs, dir));
  nlohmann::json tree = nlohmann::json::object();
  nlohmann::json strings = nlohmann::json::object();
  for (const Leaf& leaf : leaves_) {
    nlohmann::json keys = nlohmann::json::array();
    std::vector<std::string> quoted;
    for (const Key& key : leaf.keys) {
      keys.push_back({{"key", key.name}, {"key_type", key.sequence ? 1 : 2}});
      quoted.push_back(absl::StrCat("'", key.name, "'"));
    }
    nlohmann::json value = {{"value_type", leaf.value_type}, {"skip_deserialize", leaf.skip}};
    if (leaf.array) value["write_shape"] = leaf.array->shape();
    tree[absl::StrCat("(", absl::StrJoin(quoted, ", "), quoted.size() == 1 ? ",)" : ")")] = {
        {"key_metadata", keys}, {"value_metadata", value}};
    if (leaf.array) CAIRN_RETURN_IF_ERROR(WriteArray(fs, dir, leaf));
    if (leaf.text) strings[ParamName(leaf.keys)] = *leaf.text;
  }
  const nlohmann::json metadata = {{"tree_metadata", tree},
                                   {"use_ocdbt", false},
                                   {"use_zarr3", false},
                                   {"store_array_data_equal_to_fill_value", fill_flag_},
                                   {"custom_metadata", custom_}};
  CAIRN_RETURN_IF_ERROR(WriteStringToFile(fs, JoinPath(dir, "_METADATA"), metadata.dump(), false));
  if (!strings.empty()) {
    CAIRN_RETURN_IF_ERROR(
        WriteStringToFile(fs, JoinPath(dir, "_strings.json"), strings.dump(), false));
  }
  return absl::OkStatus();
}

}  // namespace cairn::orbax_test
