#include "cairn/storage/zarr/zarr_writer.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cairn/storage/internal/box_copy.h"
#include "cairn/storage/internal/chunk_codec.h"
#include "cairn/storage/internal/scratch_buffer.h"
#include "cairn/storage/zarr/internal/inner_chunk_shape.h"
#include "cairn/storage/zarr/internal/zarr_dtype.h"
#include "cairn/storage/zarr/internal/zarr_spec.h"
#include "cairn/utils/crc32c.h"
#include "cairn/utils/status_macros.h"
#include "nlohmann/json.hpp"

namespace cairn {
namespace {

using nlohmann::json;

// Shards are encoded in groups of about this many raw bytes: enough inner chunks to keep every
// thread busy, without holding the whole array's encoded bytes at once.
constexpr uint64_t kGroupBytes = uint64_t{256} << 20;

// Where the array's pieces go: the region written, its shards and their inner chunks.
struct Layout {
  DType dtype;
  size_t width;
  Shape global;  // the whole array
  Shape origin;  // of the region written, in the whole array
  Shape piece;   // the region's shape (the array's)
  Shape shard;
  Shape inner;
  Shape inner_per_shard;
  uint64_t num_inner = 1;
  Shape shards_in_piece;  // along each dimension
  uint64_t num_shards = 1;
  uint64_t inner_bytes = 0;
  // Whether an inner chunk lying inside the region is one contiguous run of the array's bytes:
  // its leading dimensions are 1 and its trailing ones span the region.
  bool inner_contiguous = false;
};

absl::Status Invalid(const std::string& where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

absl::StatusOr<Layout> PlanLayout(const Array& array, const Zarr3WriteOptions& options,
                                  const std::string& where) {
  Layout layout;
  layout.dtype = array.dtype();
  CAIRN_RETURN_IF_ERROR(zarr_internal::V3DTypeName(array.dtype(), where).status());
  layout.width = DTypeSize(array.dtype());
  layout.piece = array.shape();
  const size_t rank = layout.piece.size();
  const ShardPlacement* placement = array.placement();
  layout.global = options.global_shape ? *options.global_shape
                  : placement          ? placement->global_shape
                                       : layout.piece;
  layout.origin = options.origin ? *options.origin : placement ? placement->origin : Shape(rank, 0);
  if (layout.global.size() != rank || layout.origin.size() != rank) {
    return Invalid(where, absl::StrCat("the region ", ShapeToString(layout.piece), " at ",
                                       ShapeToString(layout.origin), " does not have the rank of ",
                                       ShapeToString(layout.global)));
  }
  CAIRN_RETURN_IF_ERROR(NumElements(layout.global).status());
  for (size_t d = 0; d < rank; ++d) {
    if (layout.origin[d] < 0 || layout.origin[d] + layout.piece[d] > layout.global[d]) {
      return Invalid(where, absl::StrCat("the region ", ShapeToString(layout.piece), " at ",
                                         ShapeToString(layout.origin), " reaches outside ",
                                         ShapeToString(layout.global)));
    }
  }
  layout.shard = options.shard_shape ? *options.shard_shape : layout.piece;
  if (layout.shard.size() != rank) {
    return Invalid(where, absl::StrCat("shard shape ", ShapeToString(layout.shard),
                                       " does not have the rank of ", ShapeToString(layout.piece)));
  }
  for (int64_t& dim : layout.shard) dim = std::max<int64_t>(dim, 1);
  for (size_t d = 0; d < rank; ++d) {
    const int64_t end = layout.origin[d] + layout.piece[d];
    if (layout.origin[d] % layout.shard[d] != 0 ||
        (layout.piece[d] % layout.shard[d] != 0 && end != layout.global[d])) {
      return Invalid(where,
                     absl::StrCat("the region ", ShapeToString(layout.piece), " at ",
                                  ShapeToString(layout.origin), " does not hold whole shards of ",
                                  ShapeToString(layout.shard)));
    }
    layout.shards_in_piece.push_back((layout.piece[d] + layout.shard[d] - 1) / layout.shard[d]);
    layout.num_shards *= static_cast<uint64_t>(layout.shards_in_piece.back());
  }
  CAIRN_ASSIGN_OR_RETURN(const uint64_t shard_bytes, ByteSize(layout.dtype, layout.shard));
  std::optional<uint64_t> target = options.inner_chunk_bytes;
  if (target.has_value()) {
    target = std::min(*target, options.max_inner_chunk_bytes);
  } else if (shard_bytes > options.max_inner_chunk_bytes) {
    target = options.max_inner_chunk_bytes;
  }
  layout.inner =
      zarr_internal::ChooseInnerChunkShape(layout.global, layout.shard, layout.dtype, target);
  for (size_t d = 0; d < rank; ++d) {
    layout.inner_per_shard.push_back(layout.shard[d] / layout.inner[d]);
    layout.num_inner *= static_cast<uint64_t>(layout.inner_per_shard.back());
  }
  CAIRN_ASSIGN_OR_RETURN(layout.inner_bytes, ByteSize(layout.dtype, layout.inner));
  size_t first_partial = 0;  // leading dimensions of extent 1
  while (first_partial < rank && layout.inner[first_partial] == 1) ++first_partial;
  layout.inner_contiguous = true;
  for (size_t d = first_partial + 1; d < rank; ++d) {
    layout.inner_contiguous = layout.inner_contiguous && layout.inner[d] == layout.piece[d];
  }
  return layout;
}

// One inner chunk's stored bytes: a view of the array's memory, of `owned`, or of the calling
// thread's scratch buffers; absent when the inner chunk lies wholly outside the array (an
// empty index entry).
struct EncodedInner {
  bool present = false;
  std::unique_ptr<char[]> owned;
  // Transient bytes (the thread's buffers, or buffers of their own above the size threads keep).
  std::optional<ScratchBuffer> gathered;
  std::optional<ScratchBuffer> compressed;
  absl::string_view bytes;
  // With chunk checksums: the CRC-32C of `bytes`, little-endian, stored right after them.
  std::optional<std::array<char, 4>> crc;
};

void AddChecksum(const Zarr3WriteOptions& options, EncodedInner* out) {
  if (!options.chunk_checksums) return;
  const uint32_t crc = Crc32c(out->bytes.data(), out->bytes.size());
  std::array<char, 4> bytes;
  for (int b = 0; b < 4; ++b) bytes[b] = static_cast<char>(crc >> (8 * b));
  out->crc = bytes;
}

// Encodes the inner chunk at `start` (in the array's coordinates). With `transient`, the bytes
// may live in the calling thread's scratch buffers, valid until its next transient encoding:
// for a shard put as soon as its one inner chunk is encoded, nothing is allocated. Otherwise
// they outlive the call in `out->owned` (or the array). Large fresh buffers cost a page fault
// every 4 KiB, so only the bytes that must be kept are allocated.
absl::Status EncodeInner(const Layout& layout, const Array& array, const Zarr3WriteOptions& options,
                         const Shape& start, bool transient, EncodedInner* out) {
  const size_t rank = layout.piece.size();
  Shape extent(rank);
  bool whole = true;
  uint64_t offset = 0;  // of `start` in the array, in elements
  for (size_t d = 0; d < rank; ++d) {
    extent[d] = std::min(layout.inner[d], layout.piece[d] - start[d]);
    if (extent[d] <= 0) return absl::OkStatus();
    whole = whole && extent[d] == layout.inner[d];
    offset = offset * static_cast<uint64_t>(layout.piece[d]) + static_cast<uint64_t>(start[d]);
  }
  out->present = true;
  const bool compress = options.compression == Zarr3Compression::kZstd;
  const char* base = static_cast<const char*>(array.data());
  absl::string_view raw;
  std::optional<ScratchBuffer> gathered;  // input to compression only
  if (whole && layout.inner_contiguous) {
    raw = absl::string_view(base + offset * layout.width, layout.inner_bytes);
  } else {
    // An edge chunk (padded with the fill value, 0) or one strided through the array.
    char* buffer;
    if (transient && !compress) {
      out->gathered.emplace(ScratchUse::kRaw, layout.inner_bytes);
      buffer = out->gathered->data();
    } else if (compress) {
      gathered.emplace(ScratchUse::kRaw, layout.inner_bytes);
      buffer = gathered->data();
    } else {
      out->owned.reset(new char[layout.inner_bytes]);
      buffer = out->owned.get();
    }
    if (!whole) std::memset(buffer, 0, layout.inner_bytes);
    CopyBox(BoxView{base, layout.dtype, layout.piece, start},
            BoxView{buffer, layout.dtype, layout.inner, Shape(rank, 0)}, extent,
            /*check_values=*/false);
    raw = absl::string_view(buffer, layout.inner_bytes);
  }
  if (!compress) {
    out->bytes = raw;
    AddChecksum(options, out);
    return absl::OkStatus();
  }
  char* stored;
  if (transient) {
    out->compressed.emplace(ScratchUse::kStored, ZstdCompressBound(raw.size()));
    stored = out->compressed->data();
  } else {
    out->owned.reset(new char[ZstdCompressBound(raw.size())]);
    stored = out->owned.get();
  }
  CAIRN_ASSIGN_OR_RETURN(const size_t size, ZstdCompressInto(raw, options.zstd_level, stored));
  out->bytes = absl::string_view(stored, size);
  AddChecksum(options, out);
  return absl::OkStatus();
}

void AppendLittle64(std::string* out, uint64_t value) {
  for (int b = 0; b < 8; ++b) out->push_back(static_cast<char>(value >> (8 * b)));
}

// The shard index (offset and length of each inner chunk, little-endian, then its CRC-32C),
// which follows the inner chunks, laid out in order.
std::string ShardIndex(absl::Span<const EncodedInner> inner) {
  std::string index;
  index.reserve(inner.size() * 16 + 4);
  uint64_t offset = 0;
  for (const EncodedInner& chunk : inner) {
    const uint64_t size = chunk.bytes.size() + (chunk.crc ? 4 : 0);
    AppendLittle64(&index, chunk.present ? offset : UINT64_MAX);
    AppendLittle64(&index, chunk.present ? size : UINT64_MAX);
    if (chunk.present) offset += size;
  }
  const uint32_t crc = Crc32c(index.data(), index.size());
  for (int b = 0; b < 4; ++b) index.push_back(static_cast<char>(crc >> (8 * b)));
  return index;
}

}  // namespace

absl::StatusOr<std::string> Zarr3MetadataJson(DType dtype, const Shape& global_shape,
                                              const Shape& shard_shape, const Shape& inner_shape,
                                              Zarr3Compression compression, int zstd_level,
                                              bool chunk_checksums) {
  CAIRN_ASSIGN_OR_RETURN(std::string name, zarr_internal::V3DTypeName(dtype, "zarr.json"));
  const json little = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
  json inner_codecs = json::array({little});
  if (compression == Zarr3Compression::kZstd) {
    inner_codecs.push_back(
        {{"name", "zstd"}, {"configuration", {{"level", zstd_level}, {"checksum", false}}}});
  }
  if (chunk_checksums) inner_codecs.push_back({{"name", "crc32c"}});
  json sharding = {{"name", "sharding_indexed"},
                   {"configuration",
                    {{"chunk_shape", inner_shape},
                     {"codecs", inner_codecs},
                     {"index_codecs", json::array({little, {{"name", "crc32c"}}})}}}};
  // nlohmann's objects keep their keys sorted, and dump() adds no spaces: TensorStore's form.
  json doc = {
      {"zarr_format", 3},
      {"node_type", "array"},
      {"shape", global_shape},
      {"data_type", name},
      {"chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", shard_shape}}}}},
      {"chunk_key_encoding", {{"name", "default"}}},
      {"fill_value", zarr_internal::ZeroFillValueJson(dtype)},
      {"codecs", json::array({sharding})}};
  return doc.dump();
}

absl::Status WriteZarr3Array(KeyValueSink& sink, const std::string& prefix, const Array& array,
                             const Zarr3WriteOptions& options) {
  const std::string base =
      prefix.empty() || absl::EndsWith(prefix, "/") ? prefix : absl::StrCat(prefix, "/");
  const std::string where = absl::StrCat("zarr array ", sink.Describe(base + "zarr.json"));
  CAIRN_ASSIGN_OR_RETURN(const Layout layout, PlanLayout(array, options, where));
  if (options.write_metadata) {
    CAIRN_ASSIGN_OR_RETURN(
        std::string metadata,
        Zarr3MetadataJson(layout.dtype, layout.global, layout.shard, layout.inner,
                          options.compression, options.zstd_level, options.chunk_checksums));
    CAIRN_RETURN_IF_ERROR(sink.Put(base + "zarr.json", metadata));
  }
  const size_t rank = layout.piece.size();
  const zarr_internal::ChunkKeyEncoding keys;
  // Puts the region's shard number `shard_number`, holding `inner` (its inner chunks, in order).
  auto put_shard = [&](uint64_t shard_number, absl::Span<const EncodedInner> inner) {
    const Shape shard = UnravelIndex(layout.shards_in_piece, shard_number);
    std::vector<uint64_t> grid(rank);
    for (size_t d = 0; d < rank; ++d) {
      grid[d] = static_cast<uint64_t>(layout.origin[d] / layout.shard[d] + shard[d]);
    }
    const std::string index = ShardIndex(inner);
    std::vector<absl::string_view> parts;
    parts.reserve(2 * inner.size() + 1);
    for (const EncodedInner& chunk : inner) {
      if (!chunk.present) continue;
      parts.push_back(chunk.bytes);
      if (chunk.crc) parts.push_back(absl::string_view(chunk.crc->data(), 4));
    }
    parts.push_back(index);
    return sink.PutParts(base + zarr_internal::ChunkKey(keys, grid), parts);
  };
  auto inner_start = [&](uint64_t shard_number, uint64_t inner_number) {
    const Shape shard = UnravelIndex(layout.shards_in_piece, shard_number);
    const Shape cell = UnravelIndex(layout.inner_per_shard, inner_number);
    Shape start(rank);
    for (size_t d = 0; d < rank; ++d) {
      start[d] = shard[d] * layout.shard[d] + cell[d] * layout.inner[d];
    }
    return start;
  };

  if (layout.num_inner == 1) {
    // Orbax's default: each shard is one inner chunk, encoded and put by one task in the
    // thread's scratch memory.
    return ParallelFor(options.pool, layout.num_shards, options.parallelism,
                       [&](size_t s) -> absl::Status {
                         EncodedInner inner;
                         CAIRN_RETURN_IF_ERROR(
                             EncodeInner(layout, array, options, inner_start(s, 0), true, &inner));
                         return put_shard(s, absl::MakeConstSpan(&inner, 1));
                       });
  }
  // Inner chunks of a group of shards are encoded in parallel and kept until their shards are
  // put, a group at a time.
  const uint64_t shard_raw_bytes = layout.inner_bytes * layout.num_inner;
  const uint64_t group_shards =
      std::max<uint64_t>(1, kGroupBytes / std::max<uint64_t>(1, shard_raw_bytes));
  for (uint64_t first = 0; first < layout.num_shards; first += group_shards) {
    const uint64_t count = std::min(group_shards, layout.num_shards - first);
    std::vector<EncodedInner> encoded(count * layout.num_inner);
    CAIRN_RETURN_IF_ERROR(ParallelFor(
        options.pool, encoded.size(), options.parallelism, [&](size_t i) -> absl::Status {
          return EncodeInner(layout, array, options,
                             inner_start(first + i / layout.num_inner, i % layout.num_inner), false,
                             &encoded[i]);
        }));
    CAIRN_RETURN_IF_ERROR(
        ParallelFor(options.pool, count, options.parallelism, [&](size_t s) -> absl::Status {
          return put_shard(first + s, absl::MakeConstSpan(encoded).subspan(s * layout.num_inner,
                                                                           layout.num_inner));
        }));
  }
  return absl::OkStatus();
}

}  // namespace cairn
