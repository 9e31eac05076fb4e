#include "tests/support/zarr_encoder.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "cairn/utils/crc32c.h"

namespace cairn::zarr_test {
namespace {

using nlohmann::json;
using Dims = std::vector<int64_t>;

uint64_t Volume(const Dims& dims) {
  uint64_t n = 1;
  for (int64_t d : dims) n *= static_cast<uint64_t>(d);
  return n;
}

// Row-major strides of `dims`, in elements.
std::vector<uint64_t> Strides(const Dims& dims) {
  std::vector<uint64_t> strides(dims.size(), 1);
  for (size_t d = dims.size(); d > 1; --d) strides[d - 2] = strides[d - 1] * dims[d - 1];
  return strides;
}

// Advances a row-major counter over `dims`; false after the last index.
bool Next(std::vector<int64_t>& index, const Dims& dims) {
  for (size_t d = dims.size(); d > 0; --d) {
    if (++index[d - 1] < dims[d - 1]) return true;
    index[d - 1] = 0;
  }
  return false;
}

std::string Name(const json& codec) {
  return codec.is_string() ? codec.get<std::string>() : codec.at("name").get<std::string>();
}
json Config(const json& codec) {
  return codec.is_object() && codec.contains("configuration") ? codec["configuration"]
                                                              : json::object();
}

void AppendLittle64(std::string* out, uint64_t value, bool big) {
  for (int b = 0; b < 8; ++b) {
    out->push_back(static_cast<char>(value >> (8 * (big ? 7 - b : b))));
  }
}

std::string Crc32cAppended(std::string data) {
  const uint32_t crc = Crc32c(data.data(), data.size());
  for (int b = 0; b < 4; ++b) data.push_back(static_cast<char>(crc >> (8 * b)));
  return data;
}

// The spec's transpose: output dimension i is input dimension order[i].
std::string Transpose(const std::string& in, const Dims& shape, const std::vector<int>& order,
                      size_t element_size, Dims* out_shape) {
  Dims transposed(shape.size());
  for (size_t i = 0; i < order.size(); ++i) transposed[i] = shape[order[i]];
  const std::vector<uint64_t> in_strides = Strides(shape);
  std::string out;
  out.reserve(in.size());
  std::vector<int64_t> index(shape.size(), 0);
  if (Volume(shape) > 0) {
    do {
      uint64_t source = 0;
      for (size_t i = 0; i < order.size(); ++i) source += index[i] * in_strides[order[i]];
      out.append(in, source * element_size, element_size);
    } while (Next(index, transposed));
  }
  *out_shape = transposed;
  return out;
}

std::string EncodeShard(const json& config, size_t element_size, bool complex, const Dims& shard,
                        const std::string& elements, const std::string* fill) {
  const Dims inner = config.at("chunk_shape").get<Dims>();
  Dims per(shard.size());
  for (size_t d = 0; d < shard.size(); ++d) per[d] = shard[d] / inner[d];
  const std::vector<uint64_t> shard_strides = Strides(shard);
  std::string data;
  std::vector<std::pair<uint64_t, uint64_t>> entries;
  std::vector<int64_t> cell(shard.size(), 0);
  do {
    // Gather the inner chunk's elements.
    std::string chunk;
    std::vector<int64_t> at(inner.size(), 0);
    do {
      uint64_t flat = 0;
      for (size_t d = 0; d < inner.size(); ++d)
        flat += (cell[d] * inner[d] + at[d]) * shard_strides[d];
      chunk.append(elements, flat * element_size, element_size);
    } while (Next(at, inner));
    bool all_fill = fill != nullptr;
    for (size_t i = 0; all_fill && i < chunk.size(); i += element_size) {
      all_fill = chunk.compare(i, element_size, *fill) == 0;
    }
    if (all_fill) {
      entries.emplace_back(UINT64_MAX, UINT64_MAX);
    } else {
      std::string encoded = EncodeChunk(config.at("codecs"), element_size, complex, inner, chunk);
      entries.emplace_back(data.size(), encoded.size());
      data += encoded;
    }
  } while (Next(cell, per));
  const bool at_start = config.value("index_location", "end") == "start";
  // The index's own codecs: bytes, then optionally crc32c.
  const json& index_codecs = config.at("index_codecs");
  const bool big = Config(index_codecs[0]).value("endian", "little") == "big";
  const bool crc = index_codecs.size() > 1 && Name(index_codecs[1]) == "crc32c";
  const uint64_t index_size = entries.size() * 16 + (crc ? 4 : 0);
  std::string index;
  for (auto [offset, length] : entries) {
    const uint64_t shifted = at_start && offset != UINT64_MAX ? offset + index_size : offset;
    AppendLittle64(&index, shifted, big);
    AppendLittle64(&index, length, big);
  }
  if (crc) index = Crc32cAppended(index);
  return at_start ? index + data : data + index;
}

}  // namespace

std::string ZstdCompress(const std::string& data, int level, bool content_size) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  ZSTD_CCtx* context = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, content_size ? 1 : 0);
  const size_t n = ZSTD_compress2(context, out.data(), out.size(), data.data(), data.size());
  ZSTD_freeCCtx(context);
  if (ZSTD_isError(n)) throw std::runtime_error(ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

namespace {
std::string Deflate(const std::string& data, int level, int window_bits) {
  z_stream stream{};
  deflateInit2(&stream, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, data.size()) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}
}  // namespace

std::string GzipCompress(const std::string& data, int level) { return Deflate(data, level, 31); }
std::string ZlibCompress(const std::string& data, int level) { return Deflate(data, level, 15); }

std::string EncodeChunk(const json& codecs, size_t element_size, bool complex,
                        const Dims& chunk_shape, const std::string& elements,
                        const std::string* fill) {
  std::string bytes = elements;
  Dims shape = chunk_shape;
  for (const json& codec : codecs) {
    const std::string name = Name(codec);
    const json config = Config(codec);
    if (name == "transpose") {
      bytes =
          Transpose(bytes, shape, config.at("order").get<std::vector<int>>(), element_size, &shape);
    } else if (name == "bytes") {
      if (config.value("endian", "little") == "big") {
        const size_t part = complex ? element_size / 2 : element_size;
        for (size_t i = 0; i + part <= bytes.size(); i += part) {
          std::reverse(bytes.begin() + i, bytes.begin() + i + part);
        }
      }
    } else if (name == "sharding_indexed") {
      bytes = EncodeShard(config, element_size, complex, shape, bytes, fill);
    } else if (name == "zstd") {
      bytes = ZstdCompress(bytes, config.value("level", 0));
    } else if (name == "gzip") {
      bytes = GzipCompress(bytes, config.value("level", 6));
    } else if (name == "crc32c") {
      bytes = Crc32cAppended(bytes);
    } else {
      throw std::runtime_error("the test encoder has no codec " + name);
    }
  }
  return bytes;
}

std::map<std::string, std::string> EncodeArray(const json& zarr_json, size_t element_size,
                                               bool complex, const std::string& elements,
                                               const std::string& fill, bool skip_fill_chunks) {
  std::map<std::string, std::string> out;
  out["zarr.json"] = zarr_json.dump();
  const Dims shape = zarr_json.at("shape").get<Dims>();
  const Dims chunk = zarr_json.at("chunk_grid").at("configuration").at("chunk_shape").get<Dims>();
  const json encoding = zarr_json.value("chunk_key_encoding", json{{"name", "default"}});
  const bool v2_keys = encoding.at("name") == "v2";
  const std::string separator =
      Config(encoding).value("separator", v2_keys ? std::string(".") : std::string("/"));
  Dims grid(shape.size());
  for (size_t d = 0; d < shape.size(); ++d) grid[d] = (shape[d] + chunk[d] - 1) / chunk[d];
  if (Volume(shape) == 0) return out;
  const std::vector<uint64_t> strides = Strides(shape);
  std::vector<int64_t> cell(shape.size(), 0);
  do {
    std::string data;
    bool all_fill = true;
    std::vector<int64_t> at(chunk.size(), 0);
    do {
      bool inside = true;
      uint64_t flat = 0;
      for (size_t d = 0; d < chunk.size(); ++d) {
        const int64_t i = cell[d] * chunk[d] + at[d];
        inside = inside && i < shape[d];
        flat += i * strides[d];
      }
      const std::string element =
          inside ? elements.substr(flat * element_size, element_size) : fill;
      all_fill = all_fill && element == fill;
      data += element;
    } while (Next(at, chunk));
    if (skip_fill_chunks && all_fill) continue;
    std::string key = v2_keys ? "" : "c";
    for (size_t d = 0; d < cell.size(); ++d) {
      if (!(v2_keys && d == 0)) key += separator;
      key += std::to_string(cell[d]);
    }
    if (v2_keys && cell.empty()) key = "0";
    out[key] = EncodeChunk(zarr_json.at("codecs"), element_size, complex, chunk, data,
                           skip_fill_chunks ? &fill : nullptr);
  } while (Next(cell, grid));
  return out;
}

}  // namespace cairn::zarr_test
