#include "cairn/storage/zarr/internal/zarr_spec.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cairn/storage/zarr/internal/zarr_dtype.h"
#include "cairn/utils/json_parse.h"
#include "cairn/utils/status_macros.h"

namespace cairn::zarr_internal {
namespace {

using nlohmann::json;

// numpy's limit on dimensions.
constexpr size_t kMaxRank = 64;

absl::Status Invalid(const std::string& where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

// The metadata document, which must be an object of zarr_format `format`.
absl::StatusOr<json> ParseObject(absl::string_view text, const std::string& where, int format) {
  CAIRN_ASSIGN_OR_RETURN(json doc, ParseJsonFromDisk(text, where));
  if (!doc.is_object()) return Invalid(where, "zarr metadata is not a JSON object");
  auto it = doc.find("zarr_format");
  if (it == doc.end() || *it != format) {
    return Invalid(where, absl::StrCat("zarr_format is ", it != doc.end() ? it->dump() : "absent",
                                       ", not ", format));
  }
  return doc;
}

const json* Field(const json& object, const char* name) {
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

absl::StatusOr<Shape> ParseShape(const json* value, const std::string& where, const char* name,
                                 bool positive) {
  if (value == nullptr || !value->is_array() || value->size() > kMaxRank) {
    return Invalid(
        where, absl::StrCat("\"", name, "\" is not a list of at most ", kMaxRank, " dimensions"));
  }
  Shape shape;
  for (const json& dim : *value) {
    if (!dim.is_number_integer() || dim.get<int64_t>() < (positive ? 1 : 0)) {
      return Invalid(where, absl::StrCat("\"", name, "\" ", value->dump(), " holds ", dim.dump(),
                                         ", not an integer ", positive ? "above 0" : ">= 0"));
    }
    shape.push_back(dim.get<int64_t>());
  }
  absl::Status counted = NumElements(shape).status();
  if (!counted.ok()) return Invalid(where, absl::StrCat("\"", name, "\": ", counted.message()));
  return shape;
}

absl::Status CheckChunkBytes(DType dtype, const Shape& chunk, const std::string& where) {
  absl::Status status = ByteSize(dtype, chunk).status();
  if (!status.ok()) return Invalid(where, absl::StrCat("chunk shape: ", status.message()));
  return absl::OkStatus();
}

// A codec entry's name and configuration ({} when it has none). Format 3 allows a bare name.
absl::Status CodecParts(const json& codec, const std::string& where, std::string* name,
                        json* config) {
  if (codec.is_string()) {
    *name = codec.get<std::string>();
    *config = json::object();
    return absl::OkStatus();
  }
  const json* n = codec.is_object() ? Field(codec, "name") : nullptr;
  if (n == nullptr || !n->is_string()) {
    return Invalid(where, absl::StrCat("codec ", codec.dump(), " has no name"));
  }
  *name = n->get<std::string>();
  const json* c = Field(codec, "configuration");
  *config = c == nullptr ? json::object() : *c;
  if (!config->is_object()) {
    return Invalid(where, absl::StrCat("codec \"", *name,
                                       "\" has a configuration that is not "
                                       "an object"));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> ParseEndian(const json& config, DType dtype, const std::string& where) {
  const json* endian = Field(config, "endian");
  if (endian == nullptr || endian->is_null()) {
    // Only single-byte elements may leave the byte order out.
    if (DTypeSize(dtype) > 1) {
      return Invalid(where,
                     absl::StrCat("codec \"bytes\" needs \"endian\" for ", DTypeName(dtype)));
    }
    return false;
  }
  if (*endian == "little") return false;
  if (*endian == "big") return true;
  return Invalid(where, absl::StrCat("codec \"bytes\" has endian ", endian->dump(),
                                     ", not \"little\" or \"big\""));
}

struct ChainResult {
  CodecChain chain;
  std::vector<std::string> names;
  bool compressed = false;
};

absl::StatusOr<ChainResult> ParseChain(const json& codecs, DType dtype, const Shape& chunk,
                                       bool allow_sharding, const std::string& where);

absl::Status ParseSharding(const json& config, DType dtype, const Shape& shard,
                           const std::string& where, ChainResult* out) {
  auto spec = std::make_shared<ShardingSpec>();
  CAIRN_ASSIGN_OR_RETURN(spec->inner_chunk_shape,
                         ParseShape(Field(config, "chunk_shape"), where, "chunk_shape", true));
  const Shape& inner = spec->inner_chunk_shape;
  if (inner.size() != shard.size()) {
    return Invalid(where,
                   absl::StrCat("sharding_indexed chunk_shape ", ShapeToString(inner),
                                " does not have the rank of the shard ", ShapeToString(shard)));
  }
  for (size_t d = 0; d < inner.size(); ++d) {
    if (shard[d] % inner[d] != 0) {
      return Invalid(where, absl::StrCat("sharding_indexed chunk_shape ", ShapeToString(inner),
                                         " does not divide the shard ", ShapeToString(shard)));
    }
    spec->inner_per_shard.push_back(shard[d] / inner[d]);
  }
  CAIRN_RETURN_IF_ERROR(CheckChunkBytes(dtype, inner, where));
  Shape index_shape = spec->inner_per_shard;
  index_shape.push_back(2);
  absl::StatusOr<uint64_t> index_bytes = ByteSize(DType::kUInt64, index_shape);
  if (!index_bytes.ok()) {
    return Invalid(where, absl::StrCat("shard index: ", index_bytes.status().message()));
  }
  spec->num_inner = *index_bytes / 16;
  const json* codecs = Field(config, "codecs");
  if (codecs == nullptr) return Invalid(where, "sharding_indexed has no \"codecs\"");
  CAIRN_ASSIGN_OR_RETURN(ChainResult inner_chain, ParseChain(*codecs, dtype, inner, false, where));
  spec->inner = std::move(inner_chain.chain);

  const json* index_codecs = Field(config, "index_codecs");
  if (index_codecs == nullptr || !index_codecs->is_array() || index_codecs->empty()) {
    return Invalid(where, "sharding_indexed has no \"index_codecs\" list");
  }
  for (size_t i = 0; i < index_codecs->size(); ++i) {
    std::string name;
    json codec_config;
    CAIRN_RETURN_IF_ERROR(CodecParts((*index_codecs)[i], where, &name, &codec_config));
    if (i == 0 && name == "bytes") {
      CAIRN_ASSIGN_OR_RETURN(spec->index_big_endian,
                             ParseEndian(codec_config, DType::kUInt64, where));
    } else if (i == 1 && name == "crc32c") {
      spec->index_crc32c = true;
    } else {
      return absl::UnimplementedError(
          absl::StrCat(where, ": shard index codecs ", index_codecs->dump(),
                       " are not read (only bytes, then optionally crc32c)"));
    }
  }
  spec->index_bytes = *index_bytes + (spec->index_crc32c ? 4 : 0);
  const json* location = Field(config, "index_location");
  if (location != nullptr && *location != "end" && *location != "start") {
    return Invalid(where, absl::StrCat("sharding_indexed index_location ", location->dump(),
                                       " is not \"start\" or \"end\""));
  }
  spec->index_at_end = location == nullptr || *location == "end";
  out->compressed = out->compressed || inner_chain.compressed;
  out->names.push_back(
      absl::StrCat("sharding_indexed(", absl::StrJoin(inner_chain.names, ","), ")"));
  out->chain.sharding = std::move(spec);
  return absl::OkStatus();
}

absl::StatusOr<ChainResult> ParseChain(const json& codecs, DType dtype, const Shape& chunk,
                                       bool allow_sharding, const std::string& where) {
  if (!codecs.is_array() || codecs.empty()) {
    return Invalid(where, "\"codecs\" is not a non-empty list");
  }
  ChainResult out;
  enum { kArrayToArray, kBytesToBytes } phase = kArrayToArray;
  bool has_array_to_bytes = false;
  for (const json& codec : codecs) {
    std::string name;
    json config;
    CAIRN_RETURN_IF_ERROR(CodecParts(codec, where, &name, &config));
    if (name == "transpose") {
      if (phase != kArrayToArray) {
        return Invalid(where, "codec \"transpose\" follows an array-to-bytes codec");
      }
      const json* order = Field(config, "order");
      std::vector<int> perm;
      if (order != nullptr && (*order == "C" || *order == "F")) {
        for (size_t d = 0; d < chunk.size(); ++d) {
          perm.push_back(static_cast<int>(*order == "C" ? d : chunk.size() - 1 - d));
        }
      } else if (order != nullptr && order->is_array() && order->size() == chunk.size()) {
        std::vector<bool> seen(chunk.size(), false);
        for (const json& d : *order) {
          if (!d.is_number_integer() || d.get<int64_t>() < 0 ||
              d.get<int64_t>() >= static_cast<int64_t>(chunk.size()) || seen[d.get<int64_t>()]) {
            perm.clear();
            break;
          }
          seen[d.get<int64_t>()] = true;
          perm.push_back(static_cast<int>(d.get<int64_t>()));
        }
      }
      if (perm.size() != chunk.size()) {
        return Invalid(where,
                       absl::StrCat("transpose order ", order ? order->dump() : "(none)",
                                    " is not a permutation of ", chunk.size(), " dimensions"));
      }
      // Compose: stored dimension i is dimension perm[i] of what came before.
      if (out.chain.transpose.empty()) {
        out.chain.transpose = perm;
      } else {
        std::vector<int> composed(perm.size());
        for (size_t i = 0; i < perm.size(); ++i) composed[i] = out.chain.transpose[perm[i]];
        out.chain.transpose = composed;
      }
      out.names.push_back("transpose");
    } else if (name == "bytes" || name == "sharding_indexed") {
      if (phase != kArrayToArray) {
        return Invalid(where, absl::StrCat("a second array-to-bytes codec \"", name, "\""));
      }
      phase = kBytesToBytes;
      has_array_to_bytes = true;
      if (name == "bytes") {
        CAIRN_ASSIGN_OR_RETURN(out.chain.big_endian, ParseEndian(config, dtype, where));
        out.names.push_back("bytes");
      } else {
        if (!allow_sharding) {
          return absl::UnimplementedError(
              absl::StrCat(where, ": sharding_indexed inside sharding_indexed is not read"));
        }
        if (!out.chain.transpose.empty()) {
          return absl::UnimplementedError(
              absl::StrCat(where, ": transpose before sharding_indexed is not read"));
        }
        CAIRN_RETURN_IF_ERROR(ParseSharding(config, dtype, chunk, where, &out));
      }
    } else if (name == "zstd" || name == "gzip" || name == "crc32c") {
      if (!has_array_to_bytes) {
        // TensorStore infers the bytes codec when it is left out; so does this reader.
        if (DTypeSize(dtype) > 1) {
          return Invalid(where, absl::StrCat("codec \"", name,
                                             "\" comes before any "
                                             "array-to-bytes codec"));
        }
        has_array_to_bytes = true;
      }
      phase = kBytesToBytes;
      out.chain.bytes_codecs.push_back(name == "zstd"   ? BytesCodec::kZstd
                                       : name == "gzip" ? BytesCodec::kGzip
                                                        : BytesCodec::kCrc32c);
      out.compressed = out.compressed || name != "crc32c";
      out.names.push_back(name);
    } else {
      return absl::UnimplementedError(absl::StrCat(where, ": codec \"", name, "\" is not read"));
    }
  }
  if (!has_array_to_bytes) {
    if (DTypeSize(dtype) > 1) return Invalid(where, "\"codecs\" has no array-to-bytes codec");
    out.names.push_back("bytes");
  }
  return out;
}

absl::Status ParseGrid(const json& doc, const std::string& where, Shape* chunk) {
  const json* grid = Field(doc, "chunk_grid");
  std::string name;
  json config;
  if (grid == nullptr) return Invalid(where, "no \"chunk_grid\"");
  CAIRN_RETURN_IF_ERROR(CodecParts(*grid, where, &name, &config));
  if (name != "regular") {
    return absl::UnimplementedError(
        absl::StrCat(where, ": chunk_grid \"", name, "\" is not read (only \"regular\")"));
  }
  CAIRN_ASSIGN_OR_RETURN(*chunk,
                         ParseShape(Field(config, "chunk_shape"), where, "chunk_shape", true));
  return absl::OkStatus();
}

absl::Status ParseKeyEncoding(const json& doc, const std::string& where, ChunkKeyEncoding* keys) {
  const json* encoding = Field(doc, "chunk_key_encoding");
  std::string name = "default";
  json config = json::object();
  if (encoding != nullptr) CAIRN_RETURN_IF_ERROR(CodecParts(*encoding, where, &name, &config));
  if (name != "default" && name != "v2") {
    return absl::UnimplementedError(
        absl::StrCat(where, ": chunk_key_encoding \"", name, "\" is not read"));
  }
  keys->c_prefix = name == "default";
  keys->separator = name == "default" ? '/' : '.';
  const json* separator = Field(config, "separator");
  if (separator != nullptr) {
    if (*separator != "/" && *separator != ".") {
      return Invalid(
          where, absl::StrCat("chunk key separator ", separator->dump(), " is not \"/\" or \".\""));
    }
    keys->separator = separator->get<std::string>()[0];
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view BytesCodecName(BytesCodec codec) {
  switch (codec) {
    case BytesCodec::kZstd:
      return "zstd";
    case BytesCodec::kGzip:
      return "gzip";
    case BytesCodec::kZlib:
      return "zlib";
    case BytesCodec::kCrc32c:
      return "crc32c";
  }
  return "?";
}

absl::StatusOr<ArraySpec> ParseZarray(absl::string_view text, const std::string& where) {
  CAIRN_ASSIGN_OR_RETURN(json doc, ParseObject(text, where, 2));
  ArraySpec spec;
  ZarrMetadata& meta = spec.metadata;
  meta.zarr_format = 2;
  CAIRN_ASSIGN_OR_RETURN(meta.shape, ParseShape(Field(doc, "shape"), where, "shape", false));
  CAIRN_ASSIGN_OR_RETURN(meta.chunk_shape, ParseShape(Field(doc, "chunks"), where, "chunks", true));
  if (meta.chunk_shape.size() != meta.shape.size()) {
    return Invalid(where,
                   absl::StrCat("chunks ", ShapeToString(meta.chunk_shape),
                                " do not have the rank of shape ", ShapeToString(meta.shape)));
  }
  const json* dtype_json = Field(doc, "dtype");
  CAIRN_ASSIGN_OR_RETURN(V2DType dtype, ParseV2DType(dtype_json ? *dtype_json : json(), where));
  meta.dtype = dtype.dtype;
  spec.codecs.big_endian = dtype.big_endian;
  CAIRN_RETURN_IF_ERROR(CheckChunkBytes(meta.dtype, meta.chunk_shape, where));

  const json* filters = Field(doc, "filters");
  if (filters != nullptr && !filters->is_null() && !(filters->is_array() && filters->empty())) {
    return absl::UnimplementedError(
        absl::StrCat(where, ": filters ", filters->dump(), " are not read"));
  }
  const json* order = Field(doc, "order");
  if (order != nullptr && *order != "C" && *order != "F") {
    return Invalid(where, absl::StrCat("order ", order->dump(), " is not \"C\" or \"F\""));
  }
  std::vector<std::string> names;
  if (order != nullptr && *order == "F" && meta.shape.size() > 1) {
    for (size_t d = meta.shape.size(); d > 0; --d) {
      spec.codecs.transpose.push_back(static_cast<int>(d - 1));
    }
    names.push_back("order F");
  }
  const json* compressor = Field(doc, "compressor");
  if (compressor != nullptr && !compressor->is_null()) {
    const json* id = compressor->is_object() ? Field(*compressor, "id") : nullptr;
    if (id == nullptr || !id->is_string()) {
      return Invalid(where, absl::StrCat("compressor ", compressor->dump(), " has no \"id\""));
    }
    const std::string& name = id->get_ref<const std::string&>();
    if (name == "zstd") {
      spec.codecs.bytes_codecs.push_back(BytesCodec::kZstd);
    } else if (name == "zlib") {
      spec.codecs.bytes_codecs.push_back(BytesCodec::kZlib);
    } else if (name == "gzip") {
      spec.codecs.bytes_codecs.push_back(BytesCodec::kGzip);
    } else {
      return absl::UnimplementedError(
          absl::StrCat(where, ": compressor \"", name, "\" is not read (zstd, zlib and gzip are)"));
    }
    meta.compressed = true;
    names.push_back(name);
  }
  meta.codecs = names.empty() ? "none" : absl::StrJoin(names, ",");
  const json* fill = Field(doc, "fill_value");
  CAIRN_ASSIGN_OR_RETURN(meta.fill_value, ParseFillValue(fill ? *fill : json(), meta.dtype, where));
  spec.keys.c_prefix = false;
  spec.keys.separator = '.';
  const json* separator = Field(doc, "dimension_separator");
  if (separator != nullptr) {
    if (*separator != "/" && *separator != ".") {
      return Invalid(
          where, absl::StrCat("dimension_separator ", separator->dump(), " is not \"/\" or \".\""));
    }
    spec.keys.separator = separator->get<std::string>()[0];
  }
  meta.attributes = json::object();
  return spec;
}

absl::StatusOr<ArraySpec> ParseZarrJson(absl::string_view text, const std::string& where) {
  CAIRN_ASSIGN_OR_RETURN(json doc, ParseObject(text, where, 3));
  ArraySpec spec;
  ZarrMetadata& meta = spec.metadata;
  meta.zarr_format = 3;
  const json* node_type = Field(doc, "node_type");
  if (node_type == nullptr || *node_type != "array") {
    return Invalid(where, absl::StrCat("node_type is ", node_type ? node_type->dump() : "absent",
                                       ", not \"array\""));
  }
  const json* transformers = Field(doc, "storage_transformers");
  if (transformers != nullptr && !(transformers->is_array() && transformers->empty())) {
    return absl::UnimplementedError(
        absl::StrCat(where, ": storage_transformers ", transformers->dump(), " are not read"));
  }
  CAIRN_ASSIGN_OR_RETURN(meta.shape, ParseShape(Field(doc, "shape"), where, "shape", false));
  const json* dtype_json = Field(doc, "data_type");
  if (dtype_json == nullptr) return Invalid(where, "no \"data_type\"");
  CAIRN_ASSIGN_OR_RETURN(meta.dtype, ParseV3DType(*dtype_json, where));
  CAIRN_RETURN_IF_ERROR(ParseGrid(doc, where, &meta.chunk_shape));
  if (meta.chunk_shape.size() != meta.shape.size()) {
    return Invalid(where,
                   absl::StrCat("chunk_shape ", ShapeToString(meta.chunk_shape),
                                " does not have the rank of shape ", ShapeToString(meta.shape)));
  }
  CAIRN_RETURN_IF_ERROR(CheckChunkBytes(meta.dtype, meta.chunk_shape, where));
  CAIRN_RETURN_IF_ERROR(ParseKeyEncoding(doc, where, &spec.keys));
  const json* fill = Field(doc, "fill_value");
  if (fill == nullptr || fill->is_null()) return Invalid(where, "no \"fill_value\"");
  CAIRN_ASSIGN_OR_RETURN(meta.fill_value, ParseFillValue(*fill, meta.dtype, where));
  const json* codecs = Field(doc, "codecs");
  if (codecs == nullptr) return Invalid(where, "no \"codecs\"");
  CAIRN_ASSIGN_OR_RETURN(ChainResult chain,
                         ParseChain(*codecs, meta.dtype, meta.chunk_shape, true, where));
  spec.codecs = std::move(chain.chain);
  meta.codecs = absl::StrJoin(chain.names, ",");
  meta.compressed = chain.compressed;
  if (spec.codecs.sharding != nullptr) {
    meta.inner_chunk_shape = spec.codecs.sharding->inner_chunk_shape;
  }
  const json* attributes = Field(doc, "attributes");
  meta.attributes = attributes != nullptr ? *attributes : json::object();
  return spec;
}

std::string ChunkKey(const ChunkKeyEncoding& encoding, const std::vector<uint64_t>& grid_index) {
  const std::string separator(1, encoding.separator);
  if (encoding.c_prefix) {
    std::string key = "c";
    for (uint64_t i : grid_index) absl::StrAppend(&key, separator, i);
    return key;
  }
  if (grid_index.empty()) return "0";
  return absl::StrJoin(grid_index, separator);
}

bool ParseChunkKey(const ChunkKeyEncoding& encoding, absl::string_view key, size_t rank,
                   std::vector<uint64_t>* grid_index) {
  grid_index->clear();
  if (encoding.c_prefix) {
    if (key.empty() || key[0] != 'c') return false;
    key.remove_prefix(1);
    if (rank == 0) return key.empty();
    if (key.empty() || key[0] != encoding.separator) return false;
    key.remove_prefix(1);
  } else if (rank == 0) {
    return key == "0";
  }
  std::vector<absl::string_view> parts = absl::StrSplit(key, encoding.separator);
  if (parts.size() != rank) return false;
  for (absl::string_view part : parts) {
    uint64_t value;
    if (part.empty() || part.size() > 19 || !absl::SimpleAtoi(part, &value)) return false;
    for (char c : part) {
      if (c < '0' || c > '9') return false;
    }
    grid_index->push_back(value);
  }
  return true;
}

}  // namespace cairn::zarr_internal
