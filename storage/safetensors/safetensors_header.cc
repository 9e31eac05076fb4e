#include "cairn/storage/safetensors/safetensors_header.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/storage/safetensors/safetensors_dtype.h"
#include "cairn/utils/status_macros.h"
#include "cairn/utils/utf8.h"
#include "nlohmann/json.hpp"

namespace cairn {
namespace {

using nlohmann::json;

// Headers nest three levels at most (the object, a tensor, its shape); deeper is refused while
// parsing, before anything deep is built.
constexpr int kMaxHeaderDepth = 3;

struct HeaderRuleViolation {
  std::string message;
};

absl::Status Violation(const std::string& file, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(file, " is not a valid safetensors file: ", what));
}

std::string Quoted(absl::string_view name) {
  return absl::StrCat("\"", EscapeForMessage(name), "\"");
}

// Parses `text` as JSON, refusing duplicate keys (which JSON parsers resolve differently, so a
// file could mean two things) and nesting deeper than any header needs.
absl::StatusOr<json> ParseStrictJson(absl::string_view text, const std::string& file) {
  std::vector<std::set<std::string>> open_objects;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= kMaxHeaderDepth) {
          throw HeaderRuleViolation{"the header nests deeper than a tensor's shape"};
        }
        if (event == json::parse_event_t::object_start) open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() &&
            !open_objects.back().insert(parsed.get<std::string>()).second) {
          throw HeaderRuleViolation{
              absl::StrCat("duplicate key ", Quoted(parsed.get<std::string>()))};
        }
        break;
      default:
        break;
    }
    return true;
  };
  try {
    json parsed = json::parse(text.begin(), text.end(), callback);
    return parsed;
  } catch (const HeaderRuleViolation& violation) {
    return Violation(file, violation.message);
  } catch (const json::exception& e) {
    return Violation(file, absl::StrCat("the header is not JSON (", e.what(), ")"));
  }
}

absl::StatusOr<uint64_t> UnsignedField(const json& value, const std::string& file,
                                       absl::string_view tensor, absl::string_view field) {
  if (!value.is_number_unsigned()) {
    return Violation(file, absl::StrCat("tensor ", Quoted(tensor), ": ", field,
                                        " holds something other than a non-negative integer"));
  }
  return value.get<uint64_t>();
}

absl::StatusOr<SafetensorsTensor> ParseTensor(const std::string& name, const json& entry,
                                              const std::string& file) {
  if (!entry.is_object()) {
    return Violation(file, absl::StrCat("tensor ", Quoted(name), " is not a JSON object"));
  }
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!entry.contains(field)) {
      return Violation(file, absl::StrCat("tensor ", Quoted(name), " has no ", field));
    }
  }
  SafetensorsTensor tensor;
  tensor.name = name;
  const json& dtype = entry["dtype"];
  if (!dtype.is_string()) {
    return Violation(file, absl::StrCat("tensor ", Quoted(name), ": dtype is not a string"));
  }
  const std::string dtype_name = dtype.get<std::string>();
  if (!IsKnownSafetensorsDType(dtype_name)) {
    return Violation(file,
                     absl::StrCat("tensor ", Quoted(name), ": unknown dtype ", Quoted(dtype_name)));
  }
  std::optional<DType> mapped = DTypeFromSafetensors(dtype_name);
  if (!mapped) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": tensor ", Quoted(name), " has dtype ",
                                                   dtype_name, ", which cairn has no type for"));
  }
  tensor.dtype = *mapped;
  const json& shape = entry["shape"];
  if (!shape.is_array()) {
    return Violation(file, absl::StrCat("tensor ", Quoted(name), ": shape is not a list"));
  }
  for (const json& dim : shape) {
    CAIRN_ASSIGN_OR_RETURN(const uint64_t extent, UnsignedField(dim, file, name, "shape"));
    if (extent > static_cast<uint64_t>(INT64_MAX)) {
      return Violation(file, absl::StrCat("tensor ", Quoted(name), ": a dimension is too large"));
    }
    tensor.shape.push_back(static_cast<int64_t>(extent));
  }
  const json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2) {
    return Violation(file,
                     absl::StrCat("tensor ", Quoted(name), ": data_offsets is not [begin, end]"));
  }
  CAIRN_ASSIGN_OR_RETURN(tensor.begin, UnsignedField(offsets[0], file, name, "data_offsets"));
  CAIRN_ASSIGN_OR_RETURN(tensor.end, UnsignedField(offsets[1], file, name, "data_offsets"));
  if (tensor.begin > tensor.end) {
    return Violation(file, absl::StrCat("tensor ", Quoted(name), ": data_offsets begin ",
                                        tensor.begin, " is past end ", tensor.end));
  }
  absl::StatusOr<uint64_t> bytes = ByteSize(tensor.dtype, tensor.shape);
  if (!bytes.ok()) {
    return Violation(file, absl::StrCat("tensor ", Quoted(name), ": shape ",
                                        ShapeToString(tensor.shape), " is too large"));
  }
  if (*bytes != tensor.end - tensor.begin) {
    return Violation(
        file, absl::StrCat("tensor ", Quoted(name), ": shape ", ShapeToString(tensor.shape), " of ",
                           dtype_name, " needs ", *bytes, " bytes but data_offsets span ",
                           tensor.end - tensor.begin));
  }
  return tensor;
}

}  // namespace

absl::Status LayOutSafetensors(std::vector<SafetensorsTensor>& tensors) {
  std::sort(tensors.begin(), tensors.end(),
            [](const SafetensorsTensor& a, const SafetensorsTensor& b) {
              const size_t size_a = DTypeSize(a.dtype), size_b = DTypeSize(b.dtype);
              if (size_a != size_b) return size_a > size_b;
              return a.name < b.name;
            });
  uint64_t offset = 0;
  for (SafetensorsTensor& tensor : tensors) {
    absl::StatusOr<uint64_t> bytes = ByteSize(tensor.dtype, tensor.shape);
    if (!bytes.ok()) return Annotate(bytes.status(), absl::StrCat("tensor ", Quoted(tensor.name)));
    tensor.begin = offset;
    tensor.end = offset + *bytes;
    if (tensor.end < offset) {
      return absl::InvalidArgumentError("the tensors hold more than 2^64 bytes");
    }
    offset = tensor.end;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> EncodeSafetensorsHeader(const SafetensorsHeader& header) {
  json object = json::object();
  uint64_t expected_begin = 0;
  for (const SafetensorsTensor& tensor : header.tensors) {
    if (tensor.name.empty() || tensor.name == kSafetensorsMetadataKey) {
      return absl::InvalidArgumentError(
          absl::StrCat("a safetensors tensor cannot be named ", Quoted(tensor.name)));
    }
    if (object.contains(tensor.name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("two safetensors tensors are named ", Quoted(tensor.name)));
    }
    CAIRN_ASSIGN_OR_RETURN(const uint64_t bytes, ByteSize(tensor.dtype, tensor.shape));
    if (tensor.begin != expected_begin || tensor.end - tensor.begin != bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor ", Quoted(tensor.name), " is not laid out back to back with its byte size"));
    }
    expected_begin = tensor.end;
    CAIRN_ASSIGN_OR_RETURN(const absl::string_view dtype, SafetensorsDTypeName(tensor.dtype));
    object[tensor.name] = {{"dtype", std::string(dtype)},
                           {"shape", tensor.shape},
                           {"data_offsets", {tensor.begin, tensor.end}}};
  }
  if (!header.metadata.empty()) {
    json metadata = json::object();
    for (const auto& [key, value] : header.metadata) metadata[key] = value;
    object[kSafetensorsMetadataKey] = std::move(metadata);
  }
  std::string text;
  try {
    text = object.dump(-1, ' ', false, json::error_handler_t::strict);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("a tensor name or metadata string is not UTF-8 (", e.what(), ")"));
  }
  // Spaces keep the data buffer (and so, with the layout above, every tensor) aligned.
  text.append((8 - text.size() % 8) % 8, ' ');
  if (text.size() > kMaxSafetensorsHeaderBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the safetensors header would take ", text.size(),
                     " bytes, more than readers accept (", kMaxSafetensorsHeaderBytes, ")"));
  }
  std::string out(kSafetensorsPrefixBytes, '\0');
  const uint64_t size = text.size();
  for (size_t i = 0; i < kSafetensorsPrefixBytes; ++i) {
    out[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  }
  out += text;
  return out;
}

absl::StatusOr<uint64_t> DecodeSafetensorsHeaderSize(absl::string_view prefix, uint64_t file_bytes,
                                                     const std::string& file) {
  if (prefix.size() < kSafetensorsPrefixBytes || file_bytes < kSafetensorsPrefixBytes) {
    return Violation(file, absl::StrCat("it is ", std::min<uint64_t>(prefix.size(), file_bytes),
                                        " bytes long, shorter than the 8-byte header size"));
  }
  uint64_t size = 0;
  for (size_t i = 0; i < kSafetensorsPrefixBytes; ++i) {
    size |= static_cast<uint64_t>(static_cast<unsigned char>(prefix[i])) << (8 * i);
  }
  if (size > kMaxSafetensorsHeaderBytes) {
    return Violation(file, absl::StrCat("its header size ", size, " is over the limit of ",
                                        kMaxSafetensorsHeaderBytes, " bytes"));
  }
  if (size > file_bytes - kSafetensorsPrefixBytes) {
    return Violation(file, absl::StrCat("its header size ", size, " runs past the end of the ",
                                        file_bytes, "-byte file"));
  }
  return size;
}

absl::StatusOr<SafetensorsHeader> ParseSafetensorsHeader(absl::string_view text,
                                                         uint64_t data_bytes,
                                                         const std::string& file) {
  if (text.empty() || text.front() != '{') {
    return Violation(file, "the header does not start with '{'");
  }
  CAIRN_ASSIGN_OR_RETURN(const json object, ParseStrictJson(text, file));
  if (!object.is_object()) return Violation(file, "the header is not a JSON object");
  SafetensorsHeader header;
  for (const auto& [name, entry] : object.items()) {
    if (name == kSafetensorsMetadataKey) {
      if (!entry.is_object()) return Violation(file, "__metadata__ is not a JSON object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) {
          return Violation(file, absl::StrCat("__metadata__ ", Quoted(key), " is not a string"));
        }
        header.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    CAIRN_ASSIGN_OR_RETURN(SafetensorsTensor tensor, ParseTensor(name, entry, file));
    header.tensors.push_back(std::move(tensor));
  }
  // Sorted by range, with empty tensors before the non-empty one that begins where they sit.
  std::sort(header.tensors.begin(), header.tensors.end(),
            [](const SafetensorsTensor& a, const SafetensorsTensor& b) {
              if (a.begin != b.begin) return a.begin < b.begin;
              if (a.end != b.end) return a.end < b.end;
              return a.name < b.name;
            });
  uint64_t covered = 0;
  const SafetensorsTensor* previous = nullptr;
  for (const SafetensorsTensor& tensor : header.tensors) {
    if (tensor.begin < covered) {
      return Violation(file, absl::StrCat("tensor ", Quoted(tensor.name), " overlaps tensor ",
                                          Quoted(previous->name), " (bytes ", tensor.begin, " to ",
                                          covered, ")"));
    }
    if (tensor.begin > covered) {
      return Violation(file, absl::StrCat("bytes ", covered, " to ", tensor.begin,
                                          " of the data buffer belong to no tensor (a hole "
                                          "before tensor ",
                                          Quoted(tensor.name), ")"));
    }
    covered = tensor.end;
    previous = &tensor;
  }
  if (covered != data_bytes) {
    if (covered > data_bytes) {
      return Violation(file, absl::StrCat("tensor ", Quoted(previous->name), " ends at byte ",
                                          covered, ", past the ", data_bytes, "-byte data buffer"));
    }
    return Violation(file, absl::StrCat("bytes ", covered, " to ", data_bytes,
                                        " of the data buffer belong to no tensor"));
  }
  return header;
}

}  // namespace cairn
