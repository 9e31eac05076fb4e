#include "tests/support/safetensors_reference.h"

#include <fstream>
#include <sstream>

#include "nlohmann/json.hpp"

namespace cairn::testing {
namespace {

int ElementBytes(const std::string& dtype) {
  static const std::map<std::string, int> kSizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},   {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2},
      {"U16", 2},  {"F16", 2}, {"BF16", 2}, {"I32", 4},     {"U32", 4},     {"F32", 4},
      {"C64", 8},  {"F64", 8}, {"I64", 8},  {"U64", 8}};
  auto it = kSizes.find(dtype);
  return it == kSizes.end() ? 0 : it->second;
}

bool Fail(std::string* error, const std::string& message) {
  *error = message;
  return false;
}

}  // namespace

bool ReadReferenceSafetensors(const std::string& file, ReferenceFile* out, std::string* error) {
  if (file.size() < 8) return Fail(error, "shorter than 8 bytes");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(file[i]);
  if (n > 100000000) return Fail(error, "header over 100 MB");
  if (n > file.size() - 8) return Fail(error, "header past the end");
  if (n % 8 != 0) return Fail(error, "header not padded to 8 bytes");
  const std::string text = file.substr(8, n);
  // Duplicate keys: nlohmann keeps the last, so count keys seen by the SAX-level callback.
  bool duplicate = false;
  std::vector<std::map<std::string, int>> seen;
  nlohmann::json header = nlohmann::json::parse(
      text,
      [&](int, nlohmann::json::parse_event_t event, nlohmann::json& value) {
        if (event == nlohmann::json::parse_event_t::object_start) seen.emplace_back();
        if (event == nlohmann::json::parse_event_t::object_end) seen.pop_back();
        if (event == nlohmann::json::parse_event_t::key && ++seen.back()[value] > 1) {
          duplicate = true;
        }
        return true;
      },
      /*allow_exceptions=*/false);
  if (header.is_discarded()) return Fail(error, "header is not JSON");
  if (duplicate) return Fail(error, "duplicate key");
  if (!header.is_object()) return Fail(error, "header is not an object");
  const uint64_t buffer = file.size() - 8 - n;
  std::vector<bool> covered(buffer, false);
  for (auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return Fail(error, "metadata not an object");
      for (auto& [key, value] : entry.items()) {
        if (!value.is_string()) return Fail(error, "metadata value not a string");
        out->metadata[key] = value.get<std::string>();
      }
      continue;
    }
    ReferenceTensor tensor;
    if (!entry.is_object() || !entry["dtype"].is_string() || !entry["shape"].is_array() ||
        !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2) {
      return Fail(error, name + ": malformed entry");
    }
    tensor.dtype = entry["dtype"].get<std::string>();
    const int element = ElementBytes(tensor.dtype);
    if (element == 0) return Fail(error, name + ": unknown dtype");
    unsigned __int128 count = 1;
    for (auto& dim : entry["shape"]) {
      if (!dim.is_number_unsigned()) return Fail(error, name + ": bad dimension");
      tensor.shape.push_back(dim.get<uint64_t>());
      count *= dim.get<uint64_t>();
      if (count > (unsigned __int128)buffer) count = (unsigned __int128)buffer + 1;
    }
    if (!entry["data_offsets"][0].is_number_unsigned() ||
        !entry["data_offsets"][1].is_number_unsigned()) {
      return Fail(error, name + ": bad offsets");
    }
    const uint64_t begin = entry["data_offsets"][0].get<uint64_t>();
    const uint64_t end = entry["data_offsets"][1].get<uint64_t>();
    if (begin > end || end > buffer) return Fail(error, name + ": offsets out of the buffer");
    if (count * element != end - begin) return Fail(error, name + ": size does not match shape");
    if ((8 + n + begin) % element != 0) return Fail(error, name + ": not aligned");
    for (uint64_t i = begin; i < end; ++i) {
      if (covered[i]) return Fail(error, name + ": overlaps another tensor");
      covered[i] = true;
    }
    tensor.begin = begin;
    tensor.bytes = file.substr(8 + n + begin, end - begin);
    out->tensors[name] = std::move(tensor);
  }
  for (uint64_t i = 0; i < buffer; ++i) {
    if (!covered[i]) return Fail(error, "byte " + std::to_string(i) + " belongs to no tensor");
  }
  out->header_bytes = n;
  return true;
}

bool ReadReferenceSafetensorsFile(const std::string& path, ReferenceFile* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(error, "cannot open " + path);
  std::stringstream contents;
  contents << in.rdbuf();
  return ReadReferenceSafetensors(contents.str(), out, error);
}

}  // namespace cairn::testing
