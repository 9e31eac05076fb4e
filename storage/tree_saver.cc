// SaveTree: plans the index, writes every chunk in parallel, syncs, then writes the index.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cairn/storage/internal/chunk_codec.h"
#include "cairn/storage/internal/chunk_layout.h"
#include "cairn/storage/internal/index_file.h"
#include "cairn/storage/internal/index_merge.h"
#include "cairn/storage/internal/save_directory.h"
#include "cairn/storage/internal/save_plan.h"
#include "cairn/storage/internal/scratch_buffer.h"
#include "cairn/storage/orbax/internal/orbax_tree_writer.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/checksum.h"
#include "cairn/utils/coordinator.h"
#include "cairn/utils/filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/fresh_memory.h"
#include "cairn/utils/internal/collective_outcome.h"
#include "cairn/utils/status_macros.h"
#include "cairn/utils/thread_pool.h"

namespace cairn {
namespace {

// Uncompressed chunks below kSmallChunk are packed into shared writes of about kGroupBytes, so
// that ten thousand small leaves cost a few hundred writes, not ten thousand.
constexpr uint64_t kSmallChunk = uint64_t{1} << 20;
constexpr uint64_t kGroupBytes = uint64_t{4} << 20;
// Large uncompressed chunks start on a page boundary (they can be memory-mapped and read with
// direct I/O); small ones on a cache line, which keeps every dtype aligned when mapped.
constexpr uint64_t kLargeChunk = uint64_t{64} << 10;
constexpr uint64_t kPageAlignment = 4096;
constexpr uint64_t kSmallAlignment = 64;

uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

// Aggregated saves of at least this many pieces write a data file per writer thread.
constexpr size_t kFilePerWriterPieces = 4096;

// Bounds of `files` runs of `pieces` of about equal bytes (fewer when pieces are few): run f is
// [bounds[f], bounds[f + 1]). No run is empty.
std::vector<size_t> SplitPieces(const LargeVector<ArrayPiece>& pieces, size_t files) {
  std::vector<size_t> bounds = {0};
  if (pieces.empty()) return bounds;
  uint64_t total = 0;
  for (const ArrayPiece& piece : pieces) total += piece.array->byte_size();
  uint64_t sum = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    sum += pieces[i].array->byte_size();
    const size_t run = bounds.size();  // the run that piece i closes if it reaches its share
    if (run < files && i + 1 < pieces.size() &&
        sum >= total / files * run + (total % files) * run / files) {
      bounds.push_back(i + 1);
    }
  }
  bounds.push_back(pieces.size());
  return bounds;
}

// One chunk of one piece: its source elements and its record in the index.
struct ChunkRef {
  const ArrayPiece* piece;
  const char* src;
  uint64_t elements;
  format::Chunk* record;
};

// Appends the chunks of `piece` to `chunks`.
void AddChunksOf(const ArrayPiece& piece, uint32_t file, LargeVector<ChunkRef>* chunks) {
  const Array& array = *piece.array;
  const uint64_t row_elements = RowElements(array.shape());
  const uint64_t n = NumChunks(array.shape(), piece.chunk_rows);
  piece.shard->mutable_chunks()->Reserve(static_cast<int>(n));
  for (uint64_t c = 0; c < n; ++c) {
    const RowRange rows = ChunkRowRange(array.shape(), piece.chunk_rows, c);
    const char* src = static_cast<const char*>(array.data()) +
                      rows.begin * row_elements * DTypeSize(array.dtype());
    format::Chunk* record = piece.shard->add_chunks();
    record->set_file(file);
    chunks->push_back(ChunkRef{&piece, src, rows.size() * row_elements, record});
  }
}

uint64_t StoredSize(const ChunkRef& chunk) {
  return chunk.elements * DTypeSize(chunk.piece->stored_dtype);
}

// Writes one data file: uncompressed chunks at offsets fixed up front (those of whole huge pages
// first, the rest packed in groups), compressed chunks appended behind them as they finish.
class DataFileWriter {
 public:
  DataFileWriter(std::unique_ptr<WritableFile> file, bool sync)
      : file_(std::move(file)), sync_(sync) {}

  // Lays out `chunks` (all destined for this file). Must precede the writes.
  void Plan(const LargeVector<ChunkRef>& chunks) {
    // A piece's chunks are consecutive in `chunks`; a piece leads only if all of them are whole
    // huge pages, so that no piece's chunks are split apart (a mapped load needs them adjoining).
    std::vector<bool> leads(chunks.size());
    for (size_t begin = 0, end; begin < chunks.size(); begin = end) {
      bool whole = true;
      for (end = begin; end < chunks.size() && chunks[end].piece == chunks[begin].piece; ++end) {
        whole = whole && WholeHugePages(chunks[end]);
      }
      std::fill(leads.begin() + begin, leads.begin() + end, whole);
    }
    for (size_t i = 0; i < chunks.size(); ++i) {
      if (leads[i]) Place(chunks[i]);
    }
    for (size_t i = 0; i < chunks.size(); ++i) {
      if (chunks[i].piece->compression != format::COMPRESSION_NONE) {
        compressed_.push_back(chunks[i]);
      } else if (!leads[i]) {
        Place(chunks[i]);
      }
    }
    tail_ = AlignUp(fixed_end_, kSmallAlignment);
  }

  size_t num_jobs() const { return groups_.size() + compressed_.size(); }

  absl::Status RunJob(size_t job) {
    if (job < groups_.size()) return WriteGroup(groups_[job]);
    return WriteCompressed(compressed_[job - groups_.size()]);
  }

  // The file's size once every job has run.
  uint64_t size() {
    absl::MutexLock lock(&mu_);
    return std::max(fixed_end_, last_end_);
  }

  // Syncs (when asked) and closes.
  absl::Status Finish(bool sync) {
    if (sync) CAIRN_RETURN_IF_ERROR(file_->Sync());
    return file_->Close();
  }

  const std::string& path() const { return file_->path(); }

 private:
  struct Group {
    bool small;
    uint64_t begin;
    std::vector<ChunkRef> chunks;
  };

  // Uncompressed chunks of a whole number of huge pages go first, one after the other from
  // offset 0, so each starts on a huge-page boundary: the page cache then holds them in huge
  // pages that a mapped load maps whole, where a chunk straddling the boundaries is mapped 4 KiB
  // at a time.
  static bool WholeHugePages(const ChunkRef& chunk) {
    const uint64_t size = StoredSize(chunk);
    return chunk.piece->compression == format::COMPRESSION_NONE && size != 0 &&
           size % kHugePageBytes == 0;
  }

  // Places an uncompressed chunk at the end of the fixed part, in a write of its own or packed
  // with its small neighbours.
  void Place(const ChunkRef& chunk) {
    const uint64_t size = StoredSize(chunk);
    const uint64_t offset =
        AlignUp(fixed_end_, size >= kLargeChunk ? kPageAlignment : kSmallAlignment);
    chunk.record->set_offset(offset);
    chunk.record->set_stored_size(size);
    fixed_end_ = offset + size;
    const bool small = size < kSmallChunk;
    if (groups_.empty() || !small || !groups_.back().small ||
        fixed_end_ - groups_.back().begin > kGroupBytes) {
      groups_.push_back(Group{small, offset, {}});
    }
    groups_.back().chunks.push_back(chunk);
  }

  absl::Status WriteGroup(const Group& group) {
    if (group.chunks.size() == 1) {
      const ChunkRef& chunk = group.chunks[0];
      const ArrayPiece& piece = *chunk.piece;
      CAIRN_ASSIGN_OR_RETURN(EncodedChunk encoded,
                             EncodeChunk(chunk.src, piece.array->dtype(), piece.stored_dtype,
                                         chunk.elements, format::COMPRESSION_NONE, 0));
      chunk.record->set_checksum(encoded.checksum);
      return Written(group.begin, encoded.bytes,
                     Annotate(file_->WriteAt(group.begin, encoded.bytes),
                              absl::StrCat("saving ", piece.path)));
    }
    const format::Chunk& last = *group.chunks.back().record;
    const uint64_t span = last.offset() + last.stored_size() - group.begin;
    // The thread's scratch memory, mapped once: a fresh buffer per group would pay a page fault
    // every 4 KiB. The alignment padding is zeroed, so that saves are reproducible.
    ScratchBuffer buffer(ScratchUse::kStored, span);
    uint64_t end = group.begin;
    for (const ChunkRef& chunk : group.chunks) {
      const ArrayPiece& piece = *chunk.piece;
      char* out = buffer.data() + (chunk.record->offset() - group.begin);
      std::memset(buffer.data() + (end - group.begin), 0, chunk.record->offset() - end);
      end = chunk.record->offset() + StoredSize(chunk);
      if (piece.array->dtype() == piece.stored_dtype) {
        std::memcpy(out, chunk.src, StoredSize(chunk));
      } else {
        CastElements(piece.array->dtype(), chunk.src, piece.stored_dtype, out, chunk.elements);
      }
      chunk.record->set_checksum(Checksum64(out, StoredSize(chunk)));
    }
    const absl::string_view bytes(buffer.data(), span);
    return Written(group.begin, bytes,
                   Annotate(file_->WriteAt(group.begin, bytes),
                            absl::StrCat("saving ", group.chunks[0].piece->path, " and ",
                                         group.chunks.size() - 1, " more small arrays")));
  }

  absl::Status WriteCompressed(const ChunkRef& chunk) {
    const ArrayPiece& piece = *chunk.piece;
    CAIRN_ASSIGN_OR_RETURN(EncodedChunk encoded,
                           EncodeChunk(chunk.src, piece.array->dtype(), piece.stored_dtype,
                                       chunk.elements, piece.compression, piece.level));
    uint64_t offset;
    {
      absl::MutexLock lock(&mu_);
      offset = tail_;
      tail_ = AlignUp(offset + encoded.bytes.size(), kSmallAlignment);
      last_end_ = std::max(last_end_, offset + encoded.bytes.size());
    }
    chunk.record->set_offset(offset);
    chunk.record->set_stored_size(encoded.bytes.size());
    chunk.record->set_checksum(encoded.checksum);
    return Written(
        offset, encoded.bytes,
        Annotate(file_->WriteAt(offset, encoded.bytes), absl::StrCat("saving ", piece.path)));
  }

  // After a write, and only when the save syncs: the disk starts on these bytes while the
  // other chunks are still being copied into the page cache, so the final fsync waits for the
  // last few megabytes instead of the whole file.
  absl::Status Written(uint64_t offset, absl::string_view bytes, absl::Status status) {
    if (status.ok() && sync_ && !bytes.empty()) file_->StartWriteback(offset, bytes.size());
    return status;
  }

  std::unique_ptr<WritableFile> file_;
  const bool sync_;
  std::vector<Group> groups_;
  std::vector<ChunkRef> compressed_;
  uint64_t fixed_end_ = 0;
  absl::Mutex mu_;
  uint64_t tail_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t last_end_ ABSL_GUARDED_BY(mu_) = 0;
};

class TreeSaver {
 public:
  TreeSaver(const std::string& dir, const StoreSaveOptions& options)
      : dir_(dir),
        data_dir_(JoinPath(dir, kTreeDataDirName)),
        options_(options),
        fs_(options.filesystem ? *options.filesystem : *Filesystem::Default()),
        coordinator_(options.coordinator ? *options.coordinator
                                         : *SingleProcessCoordinator::Default()),
        pool_(options.pool ? options.pool : ThreadPool::Shared()),
        parallelism_(options.parallelism > 0 ? options.parallelism : pool_->num_threads()),
        stage_index_(coordinator_.process_count() == 1),
        directory_(fs_, dir) {}

  absl::Status Save(const Tree& tree) {
    const int process = coordinator_.process_index();
    CAIRN_ASSIGN_OR_RETURN(
        std::unique_ptr<SavePlan> plan,
        PlanSave(tree, options_, process, coordinator_.process_count(), pool_, parallelism_));
    // The primary prepares the directory; every process learns whether that worked.
    absl::Status prepared = coordinator_.is_primary() ? PrepareDirectory() : absl::OkStatus();
    CAIRN_RETURN_IF_ERROR(
        internal::ShareOutcome(coordinator_, "cairn.save.prepare", prepared).status());

    absl::Status written = WriteData(plan.get(), process);
    // The primary merges the others' indexes into its own; its own it does not need sent. Each
    // message is "I<n>:" with the n bytes of the process's replica records, then its index.
    std::string message = internal::EncodeOutcome(written);
    if (written.ok()) {
      const std::string claims = EncodeReplicaClaims(plan->replica_claims);
      message = absl::StrCat("I", claims.size(), ":", claims);
      if (!coordinator_.is_primary()) plan->index.AppendToString(&message);
    }
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> gathered,
                           coordinator_.Gather("cairn.save.index", message));
    absl::Status committed = written;
    if (coordinator_.is_primary()) {
      if (committed.ok()) committed = WriteMergedIndex(gathered, &plan->index);
      if (!committed.ok()) Cleanup();
    }
    return internal::ShareOutcome(coordinator_, "cairn.save.commit", committed).status();
  }

 private:
  absl::Status PrepareDirectory() {
    CAIRN_RETURN_IF_ERROR(directory_.Prepare());
    absl::Status status = fs_.CreateDir(data_dir_);
    if (!status.ok()) Cleanup();
    return status;
  }

  absl::Status WriteData(SavePlan* plan, int process) {
    format::TreeIndex& index = plan->index;
    std::vector<std::unique_ptr<DataFileWriter>> writers;
    std::vector<format::DataFile*> records;
    auto open = [&](const std::string& name) -> absl::StatusOr<uint32_t> {
      CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                             fs_.NewWritableFile(JoinPath(data_dir_, name)));
      writers.push_back(std::make_unique<DataFileWriter>(std::move(file), options_.sync));
      format::DataFile* record = index.add_data_files();
      record->set_name(name);
      record->set_process_index(static_cast<uint32_t>(process));
      records.push_back(record);
      return static_cast<uint32_t>(index.data_files_size() - 1);
    };
    // Aggregated: every piece into one file. Per leaf: a file for each piece that has bytes.
    if (options_.layout == StoreLayout::kAggregated) {
      // Many small arrays: a data file for each writer thread, so that the writers do not
      // queue on one file's lock in the kernel, each laid out on a thread of its own. Runs of
      // pieces in tree order, of about equal bytes.
      const std::vector<size_t> bounds =
          SplitPieces(plan->pieces, plan->pieces.size() >= kFilePerWriterPieces ? parallelism_ : 1);
      const size_t files = bounds.size() - 1;
      std::vector<uint32_t> file_ids;
      for (size_t f = 0; f < files; ++f) {
        CAIRN_ASSIGN_OR_RETURN(const uint32_t id,
                               open(files == 1 ? absl::StrCat("p", process, ".dat")
                                               : absl::StrCat("p", process, ".", f, ".dat")));
        file_ids.push_back(id);
      }
      CAIRN_RETURN_IF_ERROR(ParallelFor(pool_, files, parallelism_, [&](size_t f) {
        size_t count = 0;
        for (size_t i = bounds[f]; i < bounds[f + 1]; ++i) {
          const ArrayPiece& piece = plan->pieces[i];
          count += NumChunks(piece.array->shape(), piece.chunk_rows);
        }
        LargeVector<ChunkRef> chunks;
        chunks.reserve(count);
        for (size_t i = bounds[f]; i < bounds[f + 1]; ++i) {
          AddChunksOf(plan->pieces[i], file_ids[f], &chunks);
        }
        writers[f]->Plan(chunks);
        return absl::OkStatus();
      }));
    } else {
      for (size_t i = 0; i < plan->pieces.size(); ++i) {
        const ArrayPiece& piece = plan->pieces[i];
        if (NumChunks(piece.array->shape(), piece.chunk_rows) == 0) continue;
        CAIRN_ASSIGN_OR_RETURN(const uint32_t file,
                               open(absl::StrCat("l", i, ".p", process, ".dat")));
        LargeVector<ChunkRef> chunks;
        AddChunksOf(piece, file, &chunks);
        writers.back()->Plan(chunks);
      }
    }
    // Jobs of all files in one parallel loop, the files taking turns, so that threads that
    // start neighbouring jobs write different files; then each file is synced once.
    std::vector<std::pair<size_t, size_t>> jobs;
    size_t most = 0;
    for (const auto& writer : writers) most = std::max(most, writer->num_jobs());
    for (size_t j = 0; j < most; ++j) {
      for (size_t w = 0; w < writers.size(); ++w) {
        if (j < writers[w]->num_jobs()) jobs.emplace_back(w, j);
      }
    }
    CAIRN_RETURN_IF_ERROR(ParallelFor(pool_, jobs.size(), parallelism_, [&](size_t i) {
      return writers[jobs[i].first]->RunJob(jobs[i].second);
    }));
    for (size_t w = 0; w < writers.size(); ++w) records[w]->set_size(writers[w]->size());
    // The index first, so that it is staged beside the first file's sync rather than after it.
    const size_t index_jobs = stage_index_ ? 1 : 0;
    return ParallelFor(pool_, index_jobs + writers.size(), parallelism_, [&](size_t i) {
      if (i < index_jobs) return StageIndexFile(fs_, dir_, index, options_.sync);
      return writers[i - index_jobs]->Finish(options_.sync);
    });
  }

  // Writes the index of every process's pieces; one staged by WriteData is only published.
  absl::Status WriteMergedIndex(const std::vector<std::string>& gathered,
                                format::TreeIndex* index) {
    std::vector<ReplicaClaim> claims;
    std::vector<int> claimants;
    for (size_t p = 0; p < gathered.size(); ++p) {
      const std::string& message = gathered[p];
      if (message.empty() || message[0] != 'I') {
        const absl::Status failed = internal::DecodeOutcome(message).status();
        return absl::Status(failed.code(),
                            absl::StrCat("process ", p, " of ", gathered.size(),
                                         " failed to write its data: ", failed.message()));
      }
      absl::string_view rest(message);
      rest.remove_prefix(1);
      const size_t colon = rest.find(':');
      uint64_t size = 0;
      if (colon == absl::string_view::npos || !absl::SimpleAtoi(rest.substr(0, colon), &size) ||
          size > rest.size() - colon - 1) {
        return absl::InternalError(absl::StrCat("process ", p, " sent an unreadable message"));
      }
      rest.remove_prefix(colon + 1);
      absl::StatusOr<std::vector<ReplicaClaim>> sent = DecodeReplicaClaims(rest.substr(0, size));
      if (!sent.ok()) return Annotate(sent.status(), absl::StrCat("from process ", p));
      for (ReplicaClaim& claim : *sent) {
        claims.push_back(std::move(claim));
        claimants.push_back(static_cast<int>(p));
      }
      rest.remove_prefix(size);
      if (p == static_cast<size_t>(coordinator_.process_index())) continue;
      format::TreeIndex other;
      if (!other.ParseFromArray(rest.data(), static_cast<int>(rest.size()))) {
        return absl::InternalError(absl::StrCat("process ", p, " sent an unreadable index"));
      }
      CAIRN_RETURN_IF_ERROR(MergeProcessIndex(other, index));
    }
    CAIRN_RETURN_IF_ERROR(CheckReplicaClaims(claims, claimants));
    // What the processes sent together must load: pieces that overlap (held by several
    // processes without replica ids, say) would be refused by every load. Refused here instead,
    // before the index makes the tree visible.
    if (gathered.size() > 1) {
      absl::Status valid = ValidateTreeIndex(*index, kTreeIndexFileName);
      if (!valid.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "cannot save ", dir_, ": the pieces of the ", gathered.size(),
            " processes do not form a tree a load accepts (", valid.message(),
            "); a piece that several processes hold needs a replica id and count in its "
            "placement"));
      }
    }
    if (options_.sync) CAIRN_RETURN_IF_ERROR(fs_.SyncDir(data_dir_));
    CAIRN_RETURN_IF_ERROR(stage_index_ ? PublishIndexFile(fs_, dir_, options_.sync)
                                       : WriteIndexFile(fs_, dir_, *index, options_.sync));
    if (options_.sync) CAIRN_RETURN_IF_ERROR(directory_.SyncCreated());
    return absl::OkStatus();
  }

  // Best effort after a failure: remove what this save created, so that a failed save leaves
  // nothing that looks like data (the index, written last, is never there).
  void Cleanup() {
    directory_.Cleanup({data_dir_, JoinPath(dir_, std::string(kTreeIndexFileName) + ".tmp")});
  }

  const std::string dir_;
  const std::string data_dir_;
  const StoreSaveOptions& options_;
  Filesystem& fs_;
  Coordinator& coordinator_;
  ThreadPool* pool_;
  const int parallelism_;
  // A save by one process has its whole index once the data is written, and stages it while
  // the data files are synced; it is published (renamed into place) only after them.
  const bool stage_index_;
  internal::SaveDirectory directory_;
};

}  // namespace

absl::Status SaveTree(const std::string& named_dir, const Tree& tree,
                      const StoreSaveOptions& options) {
  Filesystem& fs = options.filesystem ? *options.filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const std::string dir, ResolveAbove(fs, named_dir));
  if (options.format == StoreFormat::kOrbax) return internal::SaveOrbaxTree(dir, tree, options);
  return TreeSaver(dir, options).Save(tree);
}

}  // namespace cairn
