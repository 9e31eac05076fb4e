#include "cairn/steps/checkpoint_verification.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/commit_marker.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/storage/shape.h"
#include "cairn/storage/tree_selection.h"
#include "cairn/storage/tree_verification.h"
#include "cairn/utils/checksum.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

constexpr size_t kReadBlock = size_t{8} << 20;
constexpr uint64_t kAlignment = 64;

// Failures that mean the checkpoint's bytes are not what was committed, as opposed to what
// stops the check itself (permissions, I/O).
bool IsDamage(const absl::Status& status) {
  return absl::IsDataLoss(status) || absl::IsInvalidArgument(status) || absl::IsOutOfRange(status);
}

class Verifier {
 public:
  Verifier(Filesystem& fs, std::string dir, const VerifyOptions& options)
      : fs_(fs), dir_(std::move(dir)), options_(options) {}

  absl::StatusOr<VerificationReport> Run() {
    CAIRN_ASSIGN_OR_RETURN(const FileInfo info, fs_.Stat(dir_));
    if (!info.is_directory()) {
      return absl::FailedPreconditionError(absl::StrCat(dir_, " is not a directory"));
    }
    absl::StatusOr<std::optional<ListedFiles>> listing = ReadCommitMarker(fs_, dir_);
    if (IsDamage(listing.status())) {
      AddDamage(kCommitMarkerFileName, listing.status());
    } else {
      CAIRN_RETURN_IF_ERROR(listing.status());
      if (listing->has_value()) {
        report_.has_listing = true;
        files_ = std::move(**listing);
        for (const auto& [path, digest] : files_) progress_.bytes_total += digest.size;
      }
    }
    CAIRN_RETURN_IF_ERROR(CollectTrees());
    for (const auto& [path, digest] : files_) CAIRN_RETURN_IF_ERROR(CheckFile(path, digest));
    for (const PyTree& tree : trees_) CAIRN_RETURN_IF_ERROR(CheckTree(tree));
    return std::move(report_);
  }

 private:
  struct Leaf {
    KeyPath path;
    uint64_t bytes = 0;         // in memory, as loaded
    uint64_t stored_bytes = 0;  // on disk, for progress
  };
  struct PyTree {
    std::string label;  // the checkpointable's name, or "" for a pytree lying in `dir`
    CheckpointableName name;
    Tree abstract;
    std::vector<Leaf> leaves;
  };

  void AddDamage(std::string path, const absl::Status& status) {
    report_.damage.push_back(Damage{std::move(path), std::string(status.message())});
  }

  void Report() {
    if (options_.progress) options_.progress(progress_);
  }

  CheckpointOptions LoadOptions() const {
    CheckpointOptions options;
    options.filesystem = &fs_;
    return options;
  }

  // The pytrees of the checkpoint with their leaves; damage that hides them is reported.
  absl::Status CollectTrees() {
    const CheckpointOptions options = LoadOptions();
    absl::StatusOr<std::map<std::string, CheckpointableInfo>> items =
        CheckpointablesMetadata(dir_, options);
    // A single pytree lying directly in the directory (Orbax's StandardCheckpointer), or a bare
    // tree directory without _CHECKPOINT_METADATA.
    bool flat = absl::IsFailedPrecondition(items.status());
    if (absl::IsNotFound(items.status()) && !report_.has_listing) {
      CAIRN_ASSIGN_OR_RETURN(flat, HoldsTree(dir_, &fs_));
    }
    if (flat) {
      absl::StatusOr<StoreMetadata> metadata = Metadata(dir_, CheckpointableName::None(), options);
      if (IsDamage(metadata.status())) {
        AddDamage("", metadata.status());
        return absl::OkStatus();
      }
      if (absl::IsFailedPrecondition(metadata.status())) return items.status();
      CAIRN_RETURN_IF_ERROR(metadata.status());
      AddTree("", CheckpointableName::None(), metadata->tree);
      return absl::OkStatus();
    }
    // With a listing the marker vouches for a checkpoint: what it lists but lacks is damage.
    if (IsDamage(items.status()) || (report_.has_listing && absl::IsNotFound(items.status()))) {
      AddDamage("", items.status());
      return absl::OkStatus();
    }
    CAIRN_RETURN_IF_ERROR(items.status());
    for (const auto& [name, item] : *items) {
      if (item.pytree) AddTree(name, CheckpointableName::Named(name), item.pytree->tree);
    }
    return absl::OkStatus();
  }

  void AddTree(std::string label, CheckpointableName name, const Tree& tree) {
    PyTree pytree{std::move(label), std::move(name), tree, {}};
    tree.ForEachLeaf([&](const KeyPath& path, const Tree& leaf) {
      if (leaf.kind() == Tree::Kind::kNone) return;
      Leaf entry{path, 0, 0};
      if (leaf.kind() == Tree::Kind::kArraySpec && leaf.spec().dtype && leaf.spec().shape) {
        entry.bytes = ByteSize(*leaf.spec().dtype, *leaf.spec().shape).value_or(0);
        entry.stored_bytes = leaf.spec().storage ? leaf.spec().storage->stored_bytes : entry.bytes;
      }
      progress_.bytes_total += entry.stored_bytes;
      pytree.leaves.push_back(std::move(entry));
    });
    trees_.push_back(std::move(pytree));
  }

  absl::Status CheckFile(const std::string& relative, const FileDigest& digest) {
    const std::string path = JoinPath(dir_, relative);
    absl::StatusOr<std::unique_ptr<ReadableFile>> file = fs_.NewReadableFile(path);
    if (absl::IsNotFound(file.status())) {
      AddDamage(relative, absl::DataLossError(absl::StrCat(path, " is missing; ",
                                                           kCommitMarkerFileName, " lists it")));
      progress_.bytes_done += digest.size;
      Report();
      return absl::OkStatus();
    }
    CAIRN_RETURN_IF_ERROR(file.status());
    CAIRN_ASSIGN_OR_RETURN(const uint64_t size, (*file)->Size());
    ++report_.files_checked;
    if (size != digest.size) {
      AddDamage(relative,
                absl::DataLossError(absl::StrCat(path, " has ", size, " bytes; ",
                                                 kCommitMarkerFileName, " lists ", digest.size)));
      progress_.bytes_done += digest.size;
      Report();
      return absl::OkStatus();
    }
    if (block_.size() < kReadBlock) block_.resize(kReadBlock);
    StreamingChecksum64 checksum;
    uint64_t offset = 0;
    while (offset < size) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(kReadBlock, size - offset));
      CAIRN_ASSIGN_OR_RETURN(const size_t got, (*file)->ReadAt(offset, want, block_.data()));
      if (got == 0) {
        AddDamage(relative, absl::DataLossError(absl::StrCat(path, " ended at byte ", offset,
                                                             " while being read")));
        return absl::OkStatus();
      }
      checksum.Update(absl::string_view(block_.data(), got));
      offset += got;
      report_.bytes_read += got;
      progress_.bytes_done += got;
      Report();
    }
    if (checksum.Digest() != digest.checksum) {
      AddDamage(relative, absl::DataLossError(absl::StrFormat(
                              "%s: checksum %016x differs from %016x listed in %s", path,
                              checksum.Digest(), digest.checksum, kCommitMarkerFileName)));
    }
    return absl::OkStatus();
  }

  // Reads the leaves [begin, end) of `tree` in one load, into the reused buffer.
  absl::Status LoadLeaves(const PyTree& tree, size_t begin, size_t end) {
    uint64_t needed = 0;
    for (size_t i = begin; i < end; ++i) needed += tree.leaves[i].bytes + kAlignment;
    if (buffer_size_ < needed) {
      buffer_.reset(new char[needed]);
      buffer_size_ = needed;
    }
    size_t index = 0;
    uint64_t offset = 0;
    Tree request = SelectLeaves(tree.abstract, [&](const KeyPath&, const Tree& leaf) {
      const size_t i = index++;
      return i >= begin && i < end;
    });
    // Point each selected array at its place in the buffer, so that no batch allocates.
    index = 0;
    std::function<void(Tree&)> place = [&](Tree& node) {
      if (node.is_container()) {
        for (Tree& child : node.mutable_children()) place(child);
        return;
      }
      if (node.kind() == Tree::Kind::kNone) return;
      const size_t i = index++;
      if (i < begin || i >= end || node.kind() != Tree::Kind::kArraySpec) return;
      ArraySpec spec = node.spec();
      if (!spec.dtype || !spec.shape || spec.origin) return;
      spec.destination = Array::BorrowMutable(*spec.dtype, *spec.shape, buffer_.get() + offset);
      offset += (tree.leaves[i].bytes + kAlignment - 1) / kAlignment * kAlignment;
      spec.storage.reset();
      node = Tree::Spec(std::move(spec));
    };
    place(request);
    return Load(dir_, request, tree.name, LoadOptions()).status();
  }

  absl::Status CheckTree(const PyTree& tree) {
    const std::string tree_dir = tree.label.empty() ? dir_ : JoinPath(dir_, tree.label);
    CAIRN_ASSIGN_OR_RETURN(const bool cairn, HoldsCairnIndex(tree_dir, &fs_));
    if (cairn) return CheckChunks(tree, tree_dir);
    return CheckByLoading(tree);
  }

  // A cairn tree: each chunk's stored bytes against its checksum, without decoding.
  absl::Status CheckChunks(const PyTree& tree, const std::string& tree_dir) {
    ChunkVerifyOptions options;
    options.filesystem = &fs_;
    const uint64_t before = progress_.bytes_done;
    options.progress = [&](uint64_t bytes_read) {
      progress_.bytes_done = before + bytes_read;
      Report();
    };
    absl::StatusOr<ChunkVerification> chunks = VerifyTreeChunks(tree_dir, options);
    if (IsDamage(chunks.status())) {
      AddDamage(JoinPath(tree.label, kTreeIndexFileName), chunks.status());
      return absl::OkStatus();
    }
    CAIRN_RETURN_IF_ERROR(chunks.status());
    for (const ChunkDamage& damage : chunks->damage) {
      report_.damage.push_back(Damage{JoinPath(tree.label, damage.file), damage.problem});
    }
    // Unreadable chunks were not read; the progress still ends at the total.
    report_.bytes_read += chunks->bytes_read;
    progress_.bytes_done = before + chunks->stored_bytes;
    report_.leaves_checked += tree.leaves.size();
    Report();
    return absl::OkStatus();
  }

  // Another format's tree (Orbax's, without checksums): every leaf is loaded back.
  absl::Status CheckByLoading(const PyTree& tree) {
    size_t begin = 0;
    while (begin < tree.leaves.size()) {
      size_t end = begin;
      uint64_t bytes = 0;
      while (end < tree.leaves.size() &&
             (end == begin || bytes + tree.leaves[end].bytes <= options_.batch_bytes)) {
        bytes += tree.leaves[end].bytes;
        ++end;
      }
      absl::Status loaded = LoadLeaves(tree, begin, end);
      if (!loaded.ok() && !IsDamage(loaded)) return loaded;
      if (!loaded.ok()) {
        // Name each damaged array: read the batch's leaves one at a time.
        for (size_t i = begin; i < end; ++i) {
          absl::Status one = end - begin == 1 ? loaded : LoadLeaves(tree, i, i + 1);
          if (!one.ok() && !IsDamage(one)) return one;
          if (!one.ok()) {
            const std::string where = tree.leaves[i].path.ToString();
            AddDamage(tree.label.empty() ? where : absl::StrCat(tree.label, ": ", where), one);
          }
        }
      }
      for (size_t i = begin; i < end; ++i) {
        report_.bytes_read += tree.leaves[i].stored_bytes;
        progress_.bytes_done += tree.leaves[i].stored_bytes;
      }
      report_.leaves_checked += end - begin;
      Report();
      begin = end;
    }
    return absl::OkStatus();
  }

  Filesystem& fs_;
  const std::string dir_;
  const VerifyOptions& options_;
  VerificationReport report_;
  VerifyProgress progress_;
  ListedFiles files_;
  std::vector<PyTree> trees_;
  std::string block_;
  std::unique_ptr<char[]> buffer_;
  uint64_t buffer_size_ = 0;
};

}  // namespace

absl::StatusOr<VerificationReport> VerifyCheckpoint(const std::string& named_dir,
                                                    const VerifyOptions& options) {
  Filesystem& fs = options.filesystem ? *options.filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const std::string dir, ResolveAbove(fs, named_dir));
  Verifier verifier(fs, dir, options);
  return verifier.Run();
}

}  // namespace cairn
