#include "cairn/storage/zarr/zarr_array.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cairn/storage/internal/box_copy.h"
#include "cairn/storage/internal/scratch_buffer.h"
#include "cairn/storage/zarr/internal/chunk_decode.h"
#include "cairn/storage/zarr/internal/zarr_spec.h"
#include "cairn/utils/status_macros.h"

namespace cairn {

namespace zarr_internal {

// What every read planned by one Plan call shares: where the region goes.
struct ReadTarget {
  void* data = nullptr;
  DType dtype = DType::kFloat32;
  Shape shape;   // the destination's
  Shape origin;  // where it starts in the array
  ZarrReadOptions options;
  std::string path;
};

// One shard's index, read by the first of its planned reads and kept for the others until the
// last of them has run (an index can be large, and a region can span many shards).
struct ShardState {
  absl::Mutex mu;
  uint64_t pending ABSL_GUARDED_BY(mu) = 0;  // planned reads not yet run
  bool loaded ABSL_GUARDED_BY(mu) = false;
  absl::Status status ABSL_GUARDED_BY(mu);
  bool missing ABSL_GUARDED_BY(mu) = false;
  std::vector<uint64_t> entries ABSL_GUARDED_BY(mu);  // offset and length per inner chunk
};

}  // namespace zarr_internal

using zarr_internal::ArraySpec;
using zarr_internal::ReadTarget;
using zarr_internal::ShardState;

namespace {

constexpr uint64_t kEmpty = std::numeric_limits<uint64_t>::max();

// Calls `fn` with every index in the box [first, last] (inclusive), in row-major order.
void ForEachIndex(const std::vector<uint64_t>& first, const std::vector<uint64_t>& last,
                  const std::function<void(const std::vector<uint64_t>&)>& fn) {
  std::vector<uint64_t> index = first;
  while (true) {
    fn(index);
    size_t d = index.size();
    while (d > 0) {
      --d;
      if (index[d] < last[d]) {
        ++index[d];
        break;
      }
      index[d] = first[d];
      if (d == 0) return;
    }
    if (index.empty()) return;
  }
}

// Sets the box `origin` + `extent` of the destination to `element` (one element of its dtype).
void FillBox(const ReadTarget& t, const Shape& origin, const Shape& extent, const char* element) {
  const size_t size = DTypeSize(t.dtype);
  const size_t rank = extent.size();
  char* data = static_cast<char*>(t.data);
  if (rank == 0) {
    std::memcpy(data, element, size);
    return;
  }
  std::string row(static_cast<size_t>(extent[rank - 1]) * size, '\0');
  for (int64_t i = 0; i < extent[rank - 1]; ++i) std::memcpy(&row[i * size], element, size);
  std::vector<uint64_t> first(rank - 1, 0), last(rank - 1);
  for (size_t d = 0; d + 1 < rank; ++d) last[d] = static_cast<uint64_t>(extent[d]) - 1;
  ForEachIndex(first, last, [&](const std::vector<uint64_t>& outer) {
    uint64_t flat = 0;
    for (size_t d = 0; d < rank; ++d) {
      const uint64_t i = (d + 1 < rank ? outer[d] : 0) + static_cast<uint64_t>(origin[d]);
      flat = flat * static_cast<uint64_t>(t.shape[d]) + i;
    }
    std::memcpy(data + flat * size, row.data(), row.size());
  });
}

// Where in the destination a chunk can be decoded in place: the whole chunk lies inside the
// region and the array, fills a contiguous run of the destination (all of each dimension after
// the first it spans more than one element of), and needs no cast, byte swap or transpose.
// Null when it cannot.
char* DirectDestination(const ZarrChunkRead& read, const ReadTarget& t, DType stored,
                        const zarr_internal::CodecChain& chain, const Shape& dst_origin,
                        const Shape& extent) {
  if (t.dtype != stored || stored == DType::kBool ||
      !zarr_internal::IsNativeLayout(chain, stored)) {
    return nullptr;
  }
  const size_t rank = extent.size();
  bool spanned = false;  // a dimension before this one spans more than one element
  uint64_t flat = 0;
  for (size_t d = 0; d < rank; ++d) {
    if (extent[d] != read.chunk_shape[d]) return nullptr;  // clipped by the region or the array
    if (spanned && extent[d] != t.shape[d]) return nullptr;
    spanned = spanned || extent[d] > 1;
    flat = flat * static_cast<uint64_t>(t.shape[d]) + static_cast<uint64_t>(dst_origin[d]);
  }
  return static_cast<char*>(t.data) + flat * DTypeSize(stored);
}

uint64_t ReadLittleOrBig(const char* p, bool big_endian) {
  uint64_t value = 0;
  for (int b = 0; b < 8; ++b) {
    const uint64_t byte = static_cast<uint8_t>(p[big_endian ? 7 - b : b]);
    value |= byte << (8 * b);
  }
  return value;
}

}  // namespace

struct ZarrArray::State {
  std::shared_ptr<const KeyValueSource> source;
  std::string prefix;
  ArraySpec spec;

  absl::Status LoadShardIndex(const std::string& key, ShardState& shard) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  absl::Status Fill(const ReadTarget& t, const Shape& dst_origin, const Shape& extent,
                    const std::string& where) const;
};

absl::Status ZarrArray::State::LoadShardIndex(const std::string& key, ShardState& shard) const {
  const zarr_internal::ShardingSpec& sharding = *spec.codecs.sharding;
  const uint64_t size = sharding.index_bytes;
  absl::StatusOr<std::string> index =
      source->ReadRange(key, sharding.index_at_end ? size : 0, size, sharding.index_at_end);
  if (absl::IsNotFound(index.status())) {
    shard.missing = true;
    return absl::OkStatus();
  }
  const std::string where = source->Describe(key);
  if (absl::IsOutOfRange(index.status())) {
    return absl::DataLossError(
        absl::StrCat(where, ": shard is shorter than its index of ", size, " bytes"));
  }
  if (!index.ok()) return index.status();
  std::vector<zarr_internal::BytesCodec> codecs;
  if (sharding.index_crc32c) codecs.push_back(zarr_internal::BytesCodec::kCrc32c);
  absl::StatusOr<std::string> raw =
      zarr_internal::DecodeBytes(codecs, *std::move(index), sharding.num_inner * 16);
  if (!raw.ok()) return Annotate(raw.status(), absl::StrCat(where, ": shard index"));
  shard.entries.resize(sharding.num_inner * 2);
  for (uint64_t i = 0; i < sharding.num_inner * 2; ++i) {
    shard.entries[i] = ReadLittleOrBig(raw->data() + 8 * i, sharding.index_big_endian);
  }
  for (uint64_t i = 0; i < sharding.num_inner; ++i) {
    const uint64_t offset = shard.entries[2 * i], length = shard.entries[2 * i + 1];
    if ((offset == kEmpty) != (length == kEmpty) ||
        (offset != kEmpty && offset > kEmpty - length)) {
      return absl::DataLossError(absl::StrCat(where, ": shard index entry ", i, " (offset ", offset,
                                              ", length ", length,
                                              ") is neither empty nor a byte range"));
    }
  }
  return absl::OkStatus();
}

absl::Status ZarrArray::State::Fill(const ReadTarget& t, const Shape& dst_origin,
                                    const Shape& extent, const std::string& where) const {
  const ZarrMetadata& meta = spec.metadata;
  std::string element(DTypeSize(t.dtype), '\0');
  if (!t.options.saturate_casts &&
      FindUnrepresentable(meta.dtype, meta.fill_value.data(), t.dtype, 1) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": the fill value ", ElementToString(meta.dtype, meta.fill_value.data(), 0),
        " is not a value of ", DTypeName(t.dtype),
        " (set StoreLoadOptions::saturate_casts to clamp such values to the range)"));
  }
  CastElements(meta.dtype, meta.fill_value.data(), t.dtype, element.data(), 1);
  FillBox(t, dst_origin, extent, element.data());
  return absl::OkStatus();
}

ZarrArray::ZarrArray(std::unique_ptr<State> state) : state_(std::move(state)) {}
ZarrArray::~ZarrArray() = default;

absl::StatusOr<std::unique_ptr<ZarrArray>> ZarrArray::Open(
    std::shared_ptr<const KeyValueSource> source, std::string prefix) {
  if (!prefix.empty() && prefix.back() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("zarr array prefix \"", prefix, "\" must be empty or end in '/'"));
  }
  std::string key = prefix + "zarr.json";
  absl::StatusOr<uint64_t> size = source->ValueSize(key);
  if (absl::IsNotFound(size.status())) {
    key = prefix + ".zarray";
    size = source->ValueSize(key);
    if (absl::IsNotFound(size.status())) {
      return absl::NotFoundError(absl::StrCat("no zarr array: neither ",
                                              source->Describe(prefix + "zarr.json"), " nor ",
                                              source->Describe(key), " exists"));
    }
  }
  CAIRN_RETURN_IF_ERROR(size.status());
  const std::string where = source->Describe(key);
  if (*size > zarr_internal::kMaxMetadataBytes) {
    return absl::DataLossError(absl::StrCat(where, ": ", *size,
                                            " bytes of zarr metadata, more than the limit of ",
                                            zarr_internal::kMaxMetadataBytes));
  }
  CAIRN_ASSIGN_OR_RETURN(std::string text, source->ReadRange(key, 0, *size, false));
  auto state = std::make_unique<State>();
  if (absl::EndsWith(key, "zarr.json")) {
    CAIRN_ASSIGN_OR_RETURN(state->spec, zarr_internal::ParseZarrJson(text, where));
  } else {
    CAIRN_ASSIGN_OR_RETURN(state->spec, zarr_internal::ParseZarray(text, where));
  }
  state->source = std::move(source);
  state->prefix = std::move(prefix);
  return std::unique_ptr<ZarrArray>(new ZarrArray(std::move(state)));
}

const ZarrMetadata& ZarrArray::metadata() const { return state_->spec.metadata; }

absl::Status ZarrArray::Plan(const Shape& origin, const Array& destination,
                             const ZarrReadOptions& options, const std::string& path,
                             std::vector<ZarrChunkRead>* reads) const {
  const State& s = *state_;
  const ZarrMetadata& meta = s.spec.metadata;
  const size_t rank = meta.shape.size();
  const std::string where =
      absl::StrCat(path, path.empty() ? "" : ": ", "zarr array at ", s.source->Describe(s.prefix));
  if (origin.size() != rank || static_cast<size_t>(destination.rank()) != rank) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": a region at ", ShapeToString(origin),
                                                   " of shape ", ShapeToString(destination.shape()),
                                                   " does not have the array's rank ", rank));
  }
  if (!destination.is_writable()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": the destination is read-only"));
  }
  absl::Status castable = CheckCastable(meta.dtype, destination.dtype());
  if (!castable.ok()) return Annotate(castable, where);
  const zarr_internal::ShardingSpec* sharding = s.spec.codecs.sharding.get();
  const Shape& unit = sharding != nullptr ? sharding->inner_chunk_shape : meta.chunk_shape;
  const uint64_t unit_bytes = ByteSize(meta.dtype, unit).value();  // checked when parsed
  const uint64_t index_bytes = sharding != nullptr ? sharding->index_bytes : 0;
  if (std::max(unit_bytes, index_bytes) > options.max_chunk_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        where, ": ", unit_bytes > index_bytes ? "a chunk" : "a shard index", " of ",
        std::max(unit_bytes, index_bytes),
        " bytes is larger than ZarrReadOptions::max_chunk_bytes (", options.max_chunk_bytes, ")"));
  }
  // The region clipped to the array.
  std::vector<uint64_t> lo(rank), hi(rank);
  for (size_t d = 0; d < rank; ++d) {
    const int64_t extent = destination.shape()[d];
    if (origin[d] > std::numeric_limits<int64_t>::max() - extent) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": region end overflows"));
    }
    const int64_t begin = std::max<int64_t>(origin[d], 0);
    const int64_t end = std::min<int64_t>(origin[d] + extent, meta.shape[d]);
    if (begin >= end) return absl::OkStatus();
    lo[d] = static_cast<uint64_t>(begin);
    hi[d] = static_cast<uint64_t>(end);
  }
  auto target = std::make_shared<ReadTarget>();
  target->data = destination.mutable_data();
  target->dtype = destination.dtype();
  target->shape = destination.shape();
  target->origin = origin;
  target->options = options;
  target->path = path;

  std::vector<uint64_t> first(rank), last(rank);
  for (size_t d = 0; d < rank; ++d) {
    first[d] = lo[d] / static_cast<uint64_t>(meta.chunk_shape[d]);
    last[d] = (hi[d] - 1) / static_cast<uint64_t>(meta.chunk_shape[d]);
  }
  ForEachIndex(first, last, [&](const std::vector<uint64_t>& cell) {
    const std::string key = s.prefix + zarr_internal::ChunkKey(s.spec.keys, cell);
    Shape cell_origin(rank);
    for (size_t d = 0; d < rank; ++d) {
      cell_origin[d] = static_cast<int64_t>(cell[d]) * meta.chunk_shape[d];
    }
    if (sharding == nullptr) {
      reads->push_back(ZarrChunkRead{key, cell_origin, meta.chunk_shape, target, nullptr, 0});
      return;
    }
    auto shard = std::make_shared<ShardState>();
    const size_t before = reads->size();
    std::vector<uint64_t> inner_first(rank), inner_last(rank);
    for (size_t d = 0; d < rank; ++d) {
      const uint64_t start = static_cast<uint64_t>(cell_origin[d]);
      const uint64_t size = static_cast<uint64_t>(sharding->inner_chunk_shape[d]);
      inner_first[d] = (std::max(lo[d], start) - start) / size;
      inner_last[d] =
          (std::min(hi[d], start + static_cast<uint64_t>(meta.chunk_shape[d])) - 1 - start) / size;
    }
    ForEachIndex(inner_first, inner_last, [&](const std::vector<uint64_t>& inner) {
      Shape inner_origin(rank);
      uint64_t position = 0;
      for (size_t d = 0; d < rank; ++d) {
        inner_origin[d] = cell_origin[d] + static_cast<int64_t>(inner[d]) * unit[d];
        position = position * static_cast<uint64_t>(sharding->inner_per_shard[d]) + inner[d];
      }
      reads->push_back(ZarrChunkRead{key, inner_origin, unit, target, shard, position});
    });
    absl::MutexLock lock(&shard->mu);
    shard->pending = reads->size() - before;
  });
  return absl::OkStatus();
}

absl::Status ZarrArray::Execute(const ZarrChunkRead& read) const {
  const State& s = *state_;
  const ZarrMetadata& meta = s.spec.metadata;
  const ReadTarget& t = *read.target;
  const size_t rank = meta.shape.size();
  // The part of the chunk that is inside both the array and the region.
  Shape src_origin(rank), dst_origin(rank), extent(rank);
  for (size_t d = 0; d < rank; ++d) {
    const int64_t begin = std::max({read.chunk_origin[d], t.origin[d], int64_t{0}});
    const int64_t end = std::min(
        {read.chunk_origin[d] + read.chunk_shape[d], t.origin[d] + t.shape[d], meta.shape[d]});
    if (begin >= end) return absl::OkStatus();
    src_origin[d] = begin - read.chunk_origin[d];
    dst_origin[d] = begin - t.origin[d];
    extent[d] = end - begin;
  }
  // Messages name the chunk; built only when one is needed.
  auto where = [&] {
    return absl::StrCat(t.path, t.path.empty() ? "" : ": ",
                        read.shard != nullptr
                            ? absl::StrCat("inner chunk ", read.inner_index, " at ",
                                           ShapeToString(read.chunk_origin), " of shard ")
                            : absl::StrCat("chunk at ", ShapeToString(read.chunk_origin), " "),
                        s.source->Describe(read.key));
  };
  auto missing = [&]() -> absl::Status {
    if (t.options.every_chunk_stored) {
      return absl::DataLossError(absl::StrCat(where(),
                                              " is missing, and every chunk was stored "
                                              "(ZarrReadOptions::every_chunk_stored, Orbax's "
                                              "store_array_data_equal_to_fill_value)"));
    }
    return s.Fill(t, dst_origin, extent, where());
  };

  // Where the chunk's stored bytes are: [offset, offset + length) of the key's value.
  const zarr_internal::CodecChain* chain = &s.spec.codecs;
  uint64_t offset = 0, length = 0;
  if (read.shard != nullptr) {
    ShardState& shard = *read.shard;
    {
      absl::MutexLock lock(&shard.mu);
      if (!shard.loaded) {
        shard.status = s.LoadShardIndex(read.key, shard);
        shard.loaded = true;
      }
      if (!shard.status.ok()) return Annotate(shard.status, t.path.empty() ? "zarr" : t.path);
      if (shard.missing) return missing();
      offset = shard.entries[2 * read.inner_index];
      length = shard.entries[2 * read.inner_index + 1];
      if (shard.pending > 0 && --shard.pending == 0) {
        // The last planned read: free the index (a read run again reads it again).
        shard.entries = std::vector<uint64_t>();
        shard.loaded = false;
      }
    }
    // An empty entry is a chunk the writer left out as all fill value: not a missing one.
    if (offset == kEmpty) return s.Fill(t, dst_origin, extent, where());
    chain = &s.spec.codecs.sharding->inner;
  } else {
    absl::StatusOr<uint64_t> size = s.source->ValueSize(read.key);
    if (absl::IsNotFound(size.status())) return missing();
    if (!size.ok()) return Annotate(size.status(), where());
    length = *size;
  }
  const uint64_t unit_bytes = ByteSize(meta.dtype, read.chunk_shape).value();
  if (unit_bytes > t.options.max_chunk_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(where(), ": ", unit_bytes,
                                                     " bytes decoded is more than "
                                                     "ZarrReadOptions::max_chunk_bytes"));
  }
  auto read_error = [&](const absl::Status& status) -> absl::Status {
    if (absl::IsOutOfRange(status) || absl::IsNotFound(status)) {
      const bool shard = read.shard != nullptr;
      return absl::DataLossError(absl::StrCat(
          where(), shard ? ": its index entry" : ": the range", " (offset ", offset, ", length ",
          length, ") points past the end of the ", shard ? "shard" : "value"));
    }
    return Annotate(status, where());
  };
  auto read_into = [&](char* out) -> absl::Status {
    absl::Status status = s.source->ReadRangeInto(read.key, offset, length, out);
    return status.ok() ? status : read_error(status);
  };

  // A chunk read whole into a contiguous part of a destination of its own dtype is decoded (or,
  // stored raw, read) straight into it; anything else goes through scratch memory and CopyBox.
  char* const direct = DirectDestination(read, t, meta.dtype, *chain, dst_origin, extent);
  const std::vector<zarr_internal::BytesCodec>& codecs = chain->bytes_codecs;
  std::optional<ScratchBuffer> raw;
  char* decoded = direct;
  if (decoded == nullptr) {
    raw.emplace(ScratchUse::kRaw, unit_bytes);
    decoded = raw->data();
  }
  if (codecs.empty()) {
    if (length != unit_bytes) {
      return absl::DataLossError(absl::StrCat(where(), ": chunk holds ", length, " bytes where ",
                                              unit_bytes, " were expected"));
    }
    CAIRN_RETURN_IF_ERROR(read_into(decoded));
  } else if (length <= zarr_internal::StoredSizeBound(codecs, unit_bytes)) {
    ScratchBuffer stored(ScratchUse::kStored, length);
    CAIRN_RETURN_IF_ERROR(read_into(stored.data()));
    absl::Status status = zarr_internal::DecodeBytesInto(
        codecs, absl::string_view(stored.data(), length), unit_bytes, decoded);
    if (!status.ok()) return Annotate(status, where());
  } else {
    // Longer than any compressor makes such a chunk: the source checks the range against the
    // value before anything is allocated for it, and the decoder refuses it.
    absl::StatusOr<std::string> bytes = s.source->ReadRange(read.key, offset, length, false);
    if (!bytes.ok()) return read_error(bytes.status());
    absl::Status status = zarr_internal::DecodeBytesInto(codecs, *bytes, unit_bytes, decoded);
    if (!status.ok()) return Annotate(status, where());
  }
  if (direct != nullptr) return absl::OkStatus();
  zarr_internal::ToNativeLayout(*chain, meta.dtype, read.chunk_shape, decoded, unit_bytes);
  BoxView src{decoded, meta.dtype, read.chunk_shape, src_origin};
  BoxView dst{t.data, t.dtype, t.shape, dst_origin};
  std::optional<Shape> bad = CopyBox(src, dst, extent, !t.options.saturate_casts);
  if (bad.has_value()) {
    Shape index(rank);
    uint64_t flat = 0;
    for (size_t d = 0; d < rank; ++d) {
      index[d] = read.chunk_origin[d] + (*bad)[d];
      flat = flat * static_cast<uint64_t>(read.chunk_shape[d]) + static_cast<uint64_t>((*bad)[d]);
    }
    return UnrepresentableValueError(t.path.empty() ? s.source->Describe(s.prefix) : t.path, index,
                                     meta.dtype, decoded, flat, t.dtype);
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ZarrArray::CountStoredElements(const Shape& origin,
                                                        const Shape& shape) const {
  const State& s = *state_;
  const ZarrMetadata& meta = s.spec.metadata;
  const size_t rank = meta.shape.size();
  if (origin.size() != rank || shape.size() != rank) {
    return absl::InvalidArgumentError(absl::StrCat(
        "zarr array at ", s.source->Describe(s.prefix), ": a region at ", ShapeToString(origin),
        " of shape ", ShapeToString(shape), " does not have the array's rank ", rank));
  }
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> keys, s.source->List(s.prefix));
  uint64_t total = 0;
  std::vector<uint64_t> cell;
  for (const std::string& key : keys) {
    if (!zarr_internal::ParseChunkKey(s.spec.keys, absl::string_view(key).substr(s.prefix.size()),
                                      rank, &cell)) {
      continue;
    }
    uint64_t elements = 1;
    for (size_t d = 0; d < rank && elements != 0; ++d) {
      const int64_t chunk = meta.chunk_shape[d];
      if (cell[d] >= static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / chunk)) {
        elements = 0;
        break;
      }
      const int64_t start = static_cast<int64_t>(cell[d]) * chunk;
      const int64_t begin = std::max({start, origin[d], int64_t{0}});
      const int64_t region_end = origin[d] > std::numeric_limits<int64_t>::max() - shape[d]
                                     ? meta.shape[d]
                                     : origin[d] + shape[d];
      const int64_t end = std::min({start + chunk, region_end, meta.shape[d]});
      elements = begin < end ? elements * static_cast<uint64_t>(end - begin) : 0;
    }
    total += elements;
  }
  return total;
}

absl::StatusOr<Array> ZarrArray::ReadAll(const ZarrReadOptions& options,
                                         const std::string& path) const {
  const ZarrMetadata& meta = metadata();
  CAIRN_ASSIGN_OR_RETURN(Array out, Array::Allocate(meta.dtype, meta.shape));
  std::vector<ZarrChunkRead> reads;
  CAIRN_RETURN_IF_ERROR(Plan(Shape(meta.shape.size(), 0), out, options, path, &reads));
  for (const ZarrChunkRead& read : reads) CAIRN_RETURN_IF_ERROR(Execute(read));
  return out;
}

}  // namespace cairn
