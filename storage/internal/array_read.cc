#include "cairn/storage/internal/array_read.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "cairn/storage/internal/box_copy.h"
#include "cairn/storage/internal/chunk_codec.h"
#include "cairn/storage/internal/chunk_layout.h"
#include "cairn/storage/internal/scratch_buffer.h"
#include "cairn/utils/checksum.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

// Of a Shape or of an index's repeated dimensions.
template <typename Container>
Dims ToDims(const Container& dims) {
  return Dims(dims.begin(), dims.end());
}

// An n-d box in global coordinates.
struct Box {
  Dims origin;
  Dims extent;
};

// The intersection of two boxes of equal rank; false when it is empty. Rank-0 boxes (scalars)
// always intersect.
bool Intersect(const Box& a, const Box& b, Box* out) {
  const size_t rank = a.origin.size();
  out->origin.resize(rank);
  out->extent.resize(rank);
  for (size_t d = 0; d < rank; ++d) {
    const int64_t begin = std::max(a.origin[d], b.origin[d]);
    const int64_t end = std::min(a.origin[d] + a.extent[d], b.origin[d] + b.extent[d]);
    if (end <= begin) return false;
    out->origin[d] = begin;
    out->extent[d] = end - begin;
  }
  return true;
}

uint64_t Volume(const Dims& extent) {
  uint64_t v = 1;
  for (int64_t e : extent) v *= static_cast<uint64_t>(e);
  return v;
}

// The box chunk `c` of `shard` occupies in the global array.
Box ChunkBox(const format::ArrayLeaf& leaf, const format::Shard& shard, int c) {
  Box box{ToDims(shard.origin()), ToDims(shard.shape())};
  if (!box.extent.empty()) {
    const RowRange rows = ChunkRowRange(static_cast<uint64_t>(box.extent[0]), leaf.chunk_rows(), c);
    box.origin[0] += static_cast<int64_t>(rows.begin);
    box.extent[0] = static_cast<int64_t>(rows.size());
  }
  return box;
}

absl::Status ReadFully(const ReadableFile& file, uint64_t offset, uint64_t size, char* out) {
  CAIRN_ASSIGN_OR_RETURN(const size_t n, file.ReadAt(offset, size, out));
  if (n != size) {
    return absl::DataLossError(absl::StrCat(file.path(), " ends at byte ", offset + n,
                                            " inside a chunk that should end at ", offset + size,
                                            ": the data file is truncated"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<const ReadableFile*> DataFiles::Get(uint32_t file) {
  absl::MutexLock lock(&mu_);
  if (files_[file] == nullptr) {
    const format::DataFile& record = index_.data_files(file);
    const std::string path = JoinPath(data_dir_, record.name());
    absl::StatusOr<std::unique_ptr<ReadableFile>> opened = fs_.NewReadableFile(path);
    if (absl::IsNotFound(opened.status())) {
      return absl::DataLossError(absl::StrCat("data file ", path, " is missing"));
    }
    CAIRN_RETURN_IF_ERROR(opened.status());
    CAIRN_ASSIGN_OR_RETURN(const uint64_t size, (*opened)->Size());
    if (size < record.size()) {
      return absl::DataLossError(absl::StrCat("data file ", path, " has ", size,
                                              " bytes but the index expects ", record.size(),
                                              ": it is truncated"));
    }
    files_[file] = std::move(opened).value();
  }
  return files_[file].get();
}

absl::StatusOr<std::shared_ptr<const FileMapping>> DataFiles::Map(uint32_t file) {
  CAIRN_ASSIGN_OR_RETURN(const ReadableFile* opened, Get(file));
  absl::MutexLock lock(&mu_);
  if (unmappable_) return nullptr;
  if (mappings_[file] == nullptr) {
    // The size is the index's, which Get checked the file against: no page of the mapping lies
    // past the end of the file unless the file shrinks later.
    absl::StatusOr<std::shared_ptr<const FileMapping>> mapping =
        opened->Map(index_.data_files(file).size());
    if (absl::IsUnimplemented(mapping.status())) {
      unmappable_ = true;
      return nullptr;
    }
    CAIRN_RETURN_IF_ERROR(mapping.status());
    mappings_[file] = *std::move(mapping);
  }
  return mappings_[file];
}

absl::StatusOr<uint64_t> DataFiles::OpenFor(const format::ArrayLeaf& leaf, const Shape& origin,
                                            const Shape& shape) {
  const Box region{ToDims(origin), ToDims(shape)};
  uint64_t filled = 0;
  for (const format::Shard& shard : leaf.shards()) {
    for (int c = 0; c < shard.chunks_size(); ++c) {
      Box part;
      if (Intersect(ChunkBox(leaf, shard, c), region, &part)) {
        const uint32_t file = shard.chunks(c).file();
        if (!checked_[file]) {
          CAIRN_RETURN_IF_ERROR(Get(file).status());
          checked_[file] = true;
        }
        filled += Volume(part.extent);
      }
    }
  }
  return filled;
}

namespace {

constexpr uint64_t kKeptPlanBytes = uint64_t{64} << 20;

absl::Mutex kept_plan_mu(absl::kConstInit);
ReadPlan* kept_plan ABSL_GUARDED_BY(kept_plan_mu) = nullptr;

uint64_t PlanBytes(const ReadPlan& plan) {
  return plan.reads.capacity() * sizeof(ChunkRead) + plan.targets.capacity() * sizeof(ReadTarget);
}

}  // namespace

ReadPlan TakeReadPlan(uint64_t chunks) {
  ReadPlan plan;
  {
    absl::MutexLock lock(&kept_plan_mu);
    if (kept_plan != nullptr) {
      plan = std::move(*kept_plan);
      delete kept_plan;
      kept_plan = nullptr;
    }
  }
  plan.reads.reserve(chunks);
  plan.targets.reserve(chunks);
  return plan;
}

void GiveBackReadPlan(ReadPlan plan) {
  if (PlanBytes(plan) > kKeptPlanBytes) return;
  plan.reads.clear();
  plan.targets.clear();  // frees the paths now, outside the lock
  absl::MutexLock lock(&kept_plan_mu);
  if (kept_plan == nullptr) {
    kept_plan = new ReadPlan(std::move(plan));
  } else if (PlanBytes(plan) > PlanBytes(*kept_plan)) {
    *kept_plan = std::move(plan);
  }
}

void PlanArrayReads(const format::ArrayLeaf& leaf, const Array& destination, const Shape& origin,
                    std::string path, bool saturate_casts, ReadPlan* plan, bool* fully_covered) {
  const uint32_t target = static_cast<uint32_t>(plan->targets.size());
  plan->targets.push_back(ReadTarget{static_cast<char*>(destination.mutable_data()),
                                     destination.dtype(), ToDims(destination.shape()),
                                     ToDims(origin), std::move(path), saturate_casts});
  const Box region{plan->targets.back().origin, plan->targets.back().shape};
  const DType stored = static_cast<DType>(leaf.stored_dtype());
  const uint64_t row_bytes = RowElements(destination.shape()) * DTypeSize(stored);
  uint64_t covered = 0;
  Box piece;
  Box part;
  for (const format::Shard& shard : leaf.shards()) {
    if (!Intersect(Box{ToDims(shard.origin()), ToDims(shard.shape())}, region, &piece)) continue;
    covered += Volume(piece.extent);
    for (int c = 0; c < shard.chunks_size(); ++c) {
      const Box chunk_box = ChunkBox(leaf, shard, c);
      if (!Intersect(chunk_box, region, &part)) continue;
      // Whole and contiguous in the destination: needed whole, with the destination's rows
      // being the chunk's rows.
      bool whole = stored == destination.dtype() && part.extent == chunk_box.extent;
      for (size_t d = 1; whole && d < part.extent.size(); ++d) {
        whole = destination.shape()[d] == part.extent[d];
      }
      int64_t place_offset = -1;
      if (whole) {
        place_offset =
            part.origin.empty()
                ? 0
                : static_cast<int64_t>(static_cast<uint64_t>(part.origin[0] - region.origin[0]) *
                                       row_bytes);
      }
      plan->reads.push_back(ChunkRead{&leaf, &shard, c, target, place_offset});
    }
  }
  *fully_covered = leaf.shards_size() == 1 && covered == Volume(region.extent);
}

absl::StatusOr<std::variant<Array, MapFallback>> MapArrayReads(const format::ArrayLeaf& leaf,
                                                               std::string path, DataFiles& files,
                                                               ReadPlan* plan) {
  if (leaf.compression() != format::COMPRESSION_NONE) return MapFallback::kCompressed;
  const DType dtype = static_cast<DType>(leaf.stored_dtype());
  const size_t width = DTypeSize(dtype);
  const Dims global = ToDims(leaf.global_shape());
  const uint64_t bytes = Volume(global) * width;
  if (bytes == 0) return MapFallback::kEmpty;
  if (leaf.shards_size() != 1) return MapFallback::kLayout;
  const format::Shard& shard = leaf.shards(0);
  if (ToDims(shard.shape()) != global || shard.chunks_size() == 0) return MapFallback::kLayout;
  // The chunks must lie one after the other, each exactly its elements, from an offset at
  // which the elements are aligned: then the file's bytes are the array's.
  const format::Chunk& first = shard.chunks(0);
  uint64_t end = first.offset();
  for (int c = 0; c < shard.chunks_size(); ++c) {
    const format::Chunk& chunk = shard.chunks(c);
    const uint64_t raw_size = Volume(ChunkBox(leaf, shard, c).extent) * width;
    if (chunk.file() != first.file() || chunk.offset() != end || chunk.stored_size() != raw_size) {
      return MapFallback::kLayout;
    }
    end += raw_size;
  }
  if (first.offset() % width != 0 || end - first.offset() != bytes) return MapFallback::kLayout;
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<const FileMapping> mapping, files.Map(first.file()));
  if (mapping == nullptr) return MapFallback::kFilesystem;
  if (end > mapping->size()) {
    return absl::DataLossError(absl::StrCat("the chunks of ", path, " end at byte ", end,
                                            " of a data file the index gives ", mapping->size(),
                                            " bytes"));
  }
  const char* data = mapping->data() + first.offset();
  const uint32_t target = static_cast<uint32_t>(plan->targets.size());
  plan->targets.push_back(
      ReadTarget{const_cast<char*>(data), dtype, global, Dims(global.size(), 0), std::move(path)});
  for (int c = 0; c < shard.chunks_size(); ++c) {
    ChunkRead read{&leaf, &shard, c, target,
                   static_cast<int64_t>(shard.chunks(c).offset() - first.offset())};
    read.mapped = true;
    plan->reads.push_back(read);
  }
  return Array::SharedView(dtype, Shape(global.begin(), global.end()),
                           std::shared_ptr<const void>(mapping, data), data);
}

namespace {

// Chunks below this are read together with their neighbours, in runs of up to kMaxRunBytes
// (the save packs chunks below 1 MiB in groups of about 4 MiB).
constexpr uint64_t kSmallChunkRead = uint64_t{1} << 20;
constexpr uint64_t kMaxRunBytes = uint64_t{4} << 20;
// Alignment padding between packed chunks is at most 63 bytes; anything near that is read over.
constexpr uint64_t kMaxGapBytes = 4096;

bool Joinable(const ChunkRead& read) {
  return !read.mapped && read.place_offset >= 0 &&
         read.leaf->compression() == format::COMPRESSION_NONE &&
         read.shard->chunks(read.chunk).stored_size() < kSmallChunkRead;
}

const format::Chunk& ChunkOf(const ChunkRead& read) { return read.shard->chunks(read.chunk); }

// Says which file and array a failed decode was of (built only then: loads decode many chunks).
absl::Status InContext(const absl::Status& status, const ReadableFile& file,
                       const ReadTarget& target) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(file.path(), " (", target.path, "): ", status.message()));
}

absl::Status ExecuteChunkRead(const ChunkRead& read, const ReadTarget& target, DataFiles& files) {
  const format::ArrayLeaf& leaf = *read.leaf;
  const format::Chunk& chunk = ChunkOf(read);
  CAIRN_ASSIGN_OR_RETURN(const ReadableFile* file, files.Get(chunk.file()));
  const DType stored = static_cast<DType>(leaf.stored_dtype());
  const size_t width = DTypeSize(stored);
  const Box chunk_box = ChunkBox(leaf, *read.shard, read.chunk);
  const uint64_t raw_size = Volume(chunk_box.extent) * width;
  const format::Compression compression = leaf.compression();
  char* place = read.place_offset >= 0 ? target.data + read.place_offset : nullptr;
  if (read.mapped) {
    // Checked where it lies: decoding an uncompressed chunk onto itself writes nothing.
    return InContext(DecodeChunk(absl::string_view(place, raw_size), compression, width,
                                 chunk.checksum(), raw_size, place),
                     *file, target);
  }
  if (place != nullptr && compression == format::COMPRESSION_NONE) {
    CAIRN_RETURN_IF_ERROR(ReadFully(*file, chunk.offset(), raw_size, place));
    return InContext(DecodeChunk(absl::string_view(place, raw_size), compression, width,
                                 chunk.checksum(), raw_size, place),
                     *file, target);
  }

  ScratchBuffer stored_bytes(ScratchUse::kStored, chunk.stored_size());
  CAIRN_RETURN_IF_ERROR(ReadFully(*file, chunk.offset(), chunk.stored_size(), stored_bytes.data()));
  std::optional<ScratchBuffer> decoded;
  char* raw = place;
  if (raw == nullptr) {
    if (compression == format::COMPRESSION_NONE) {
      raw = stored_bytes.data();  // checked where it lies
    } else {
      decoded.emplace(ScratchUse::kRaw, raw_size);
      raw = decoded->data();
    }
  }
  CAIRN_RETURN_IF_ERROR(
      InContext(DecodeChunk(absl::string_view(stored_bytes.data(), chunk.stored_size()),
                            compression, width, chunk.checksum(), raw_size, raw),
                *file, target));
  if (place != nullptr) return absl::OkStatus();
  const Box region{target.origin, target.shape};
  Box part;
  Intersect(chunk_box, region, &part);  // non-empty: the read was planned for it
  Shape src_origin(part.origin.size()), dst_origin(part.origin.size());
  for (size_t d = 0; d < part.origin.size(); ++d) {
    src_origin[d] = part.origin[d] - chunk_box.origin[d];
    dst_origin[d] = part.origin[d] - region.origin[d];
  }
  const Shape chunk_extent(chunk_box.extent.begin(), chunk_box.extent.end());
  const std::optional<Shape> misfit =
      CopyBox(BoxView{raw, stored, chunk_extent, src_origin},
              BoxView{target.data, target.dtype, Shape(target.shape.begin(), target.shape.end()),
                      dst_origin},
              Shape(part.extent.begin(), part.extent.end()), !target.saturate_casts);
  if (misfit) {
    Shape element = *misfit;
    uint64_t flat = 0;
    for (size_t d = 0; d < element.size(); ++d) {
      flat = flat * static_cast<uint64_t>(chunk_box.extent[d]) + static_cast<uint64_t>(element[d]);
      element[d] += chunk_box.origin[d];
    }
    return UnrepresentableValueError(target.path, element, stored, raw, flat, target.dtype);
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::pair<size_t, size_t>> GroupChunkReads(const std::vector<ChunkRead>& reads) {
  std::vector<std::pair<size_t, size_t>> runs;
  for (size_t i = 0; i < reads.size();) {
    size_t last = i + 1;
    if (Joinable(reads[i])) {
      const format::Chunk& first = ChunkOf(reads[i]);
      uint64_t end = first.offset() + first.stored_size();
      while (last < reads.size() && Joinable(reads[last])) {
        const format::Chunk& next = ChunkOf(reads[last]);
        if (next.file() != first.file() || next.offset() < end ||
            next.offset() - end > kMaxGapBytes ||
            next.offset() + next.stored_size() - first.offset() > kMaxRunBytes) {
          break;
        }
        end = next.offset() + next.stored_size();
        ++last;
      }
    }
    runs.emplace_back(i, last);
    i = last;
  }
  return runs;
}

absl::Status ExecuteChunkReads(const ReadPlan& plan, size_t first_read, size_t last_read,
                               DataFiles& files) {
  const ChunkRead* reads = &plan.reads[first_read];
  const size_t count = last_read - first_read;
  if (count == 1) return ExecuteChunkRead(reads[0], plan.targets[reads[0].target], files);
  const format::Chunk& first = ChunkOf(reads[0]);
  const format::Chunk& last = ChunkOf(reads[count - 1]);
  const uint64_t begin = first.offset();
  const uint64_t span = last.offset() + last.stored_size() - begin;
  CAIRN_ASSIGN_OR_RETURN(const ReadableFile* file, files.Get(first.file()));
  ScratchBuffer run(ScratchUse::kStored, span);
  CAIRN_RETURN_IF_ERROR(ReadFully(*file, begin, span, run.data()));
  for (size_t i = 0; i < count; ++i) {
    const ChunkRead& read = reads[i];
    const ReadTarget& target = plan.targets[read.target];
    const format::Chunk& chunk = ChunkOf(read);
    CAIRN_RETURN_IF_ERROR(InContext(
        DecodeChunk(absl::string_view(run.data() + (chunk.offset() - begin), chunk.stored_size()),
                    format::COMPRESSION_NONE,
                    DTypeSize(static_cast<DType>(read.leaf->stored_dtype())), chunk.checksum(),
                    chunk.stored_size(), target.data + read.place_offset),
        *file, target));
  }
  return absl::OkStatus();
}

}  // namespace cairn
