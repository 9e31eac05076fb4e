#include "cairn/manager/internal/state_snapshot.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/fresh_memory.h"
#include "cairn/utils/memory_filesystem.h"
#include "cairn/utils/status_macros.h"

namespace cairn::internal {
namespace {

constexpr size_t kAlignment = 64;
// Copies are split into pieces of this size so that every core takes part, even for one array.
constexpr size_t kCopyPiece = size_t{8} << 20;
// A stateful object's snapshot files larger than this are refused: such state belongs in a tree.
constexpr uint64_t kMaxObjectFileBytes = uint64_t{1} << 30;

struct CopyPiece {
  const char* from;
  char* to;
  size_t size;
};

// A stateful object's state, captured in memory at SaveAsync time and written out later by the
// background save under the original object's type.
class ObjectSnapshot final : public StatefulObject {
 public:
  static absl::StatusOr<std::shared_ptr<StatefulObject>> Of(const StatefulObject& object) {
    auto snapshot = std::shared_ptr<ObjectSnapshot>(new ObjectSnapshot(object.type_name()));
    CAIRN_RETURN_IF_ERROR(snapshot->memory_.CreateDir(kRoot));
    CAIRN_RETURN_IF_ERROR(object.SaveState(snapshot->memory_, kRoot));
    return std::shared_ptr<StatefulObject>(std::move(snapshot));
  }

  std::string type_name() const override { return type_name_; }

  absl::Status SaveState(Filesystem& fs, const std::string& dir) const override {
    return CopyTree(fs, kRoot, dir);
  }

  absl::Status RestoreState(Filesystem&, const std::string& dir) override {
    return absl::FailedPreconditionError(
        absl::StrCat("the snapshot of a ", type_name_, " only saves; restore into a ", type_name_));
  }

 private:
  static constexpr char kRoot[] = "/state";

  explicit ObjectSnapshot(std::string type_name) : type_name_(std::move(type_name)) {}

  // Durability is the handler's: it syncs whatever an object writes, this copy included.
  absl::Status CopyTree(Filesystem& fs, const std::string& from, const std::string& to) const {
    CAIRN_ASSIGN_OR_RETURN(const std::vector<DirEntry> entries, memory_.ListDirEntries(from));
    for (const DirEntry& entry : entries) {
      const std::string source = JoinPath(from, entry.name);
      const std::string target = JoinPath(to, entry.name);
      if (entry.type == FileInfo::Type::kDirectory) {
        CAIRN_RETURN_IF_ERROR(fs.CreateDir(target));
        CAIRN_RETURN_IF_ERROR(CopyTree(fs, source, target));
      } else if (entry.type == FileInfo::Type::kFile) {
        CAIRN_ASSIGN_OR_RETURN(const std::string data,
                               ReadFileToString(memory_, source, kMaxObjectFileBytes));
        CAIRN_RETURN_IF_ERROR(WriteStringToFile(fs, target, data, /*sync=*/false));
      }
    }
    return absl::OkStatus();
  }

  const std::string type_name_;
  // mutable: reading a MemoryFilesystem goes through the non-const Filesystem interface.
  mutable MemoryFilesystem memory_;
};

class TreeCopier {
 public:
  TreeCopier(StagingPool* pool, std::vector<std::pair<size_t, StagingBuffer>>* buffers)
      : pool_(pool), buffers_(buffers) {}

  absl::StatusOr<Tree> Copy(const Tree& tree) {
    switch (tree.kind()) {
      case Tree::Kind::kDict: {
        std::vector<Tree> values;
        values.reserve(tree.size());
        for (const Tree& child : tree.children()) {
          CAIRN_ASSIGN_OR_RETURN(Tree copy, Copy(child));
          values.push_back(std::move(copy));
        }
        return Tree::DictFrom(tree.keys(), std::move(values));
      }
      case Tree::Kind::kList:
      case Tree::Kind::kTuple: {
        Tree out = tree.kind() == Tree::Kind::kList ? Tree::List() : Tree::Tuple();
        for (const Tree& child : tree.children()) {
          CAIRN_ASSIGN_OR_RETURN(Tree copy, Copy(child));
          out.Append(std::move(copy));
        }
        return out;
      }
      case Tree::Kind::kArray:
        return Tree::FromArray(CopyArray(tree.array()));
      default:
        return tree;  // scalars are values already
    }
  }

  const std::vector<CopyPiece>& pieces() const { return pieces_; }
  uint64_t bytes() const { return bytes_; }
  bool allocation_failed() const { return allocation_failed_; }

 private:
  Array CopyArray(const Array& array) {
    const size_t size = array.byte_size();
    static const char kEmpty[kAlignment] = {};
    const char* data = kEmpty;
    if (size > 0) {
      StagingBuffer buffer = pool_->Take(size);
      if (buffer == nullptr) {
        allocation_failed_ = true;
        return Array::Borrow(array.dtype(), array.shape(), data);
      }
      char* to = static_cast<char*>(buffer.get());
      const char* from = static_cast<const char*>(array.data());
      for (size_t at = 0; at < size; at += kCopyPiece) {
        pieces_.push_back(CopyPiece{from + at, to + at, std::min(kCopyPiece, size - at)});
      }
      buffers_->emplace_back(size, std::move(buffer));
      data = to;
      bytes_ += size;
    }
    Array copy = Array::Borrow(array.dtype(), array.shape(), data);
    if (array.placement()) copy.set_placement(*array.placement());
    return copy;
  }

  StagingPool* const pool_;
  std::vector<std::pair<size_t, StagingBuffer>>* const buffers_;
  std::vector<CopyPiece> pieces_;
  uint64_t bytes_ = 0;
  bool allocation_failed_ = false;
};

}  // namespace

StagingBuffer StagingPool::Take(size_t size) {
  {
    absl::MutexLock lock(&mu_);
    auto it = free_.find(size);
    if (it != free_.end()) {
      StagingBuffer buffer = std::move(it->second);
      free_.erase(it);
      return buffer;
    }
  }
  absl::StatusOr<StagingBuffer> buffer = AllocateFreshMemory(size);
  return buffer.ok() ? *std::move(buffer) : nullptr;
}

void StagingPool::Return(std::vector<std::pair<size_t, StagingBuffer>> buffers) {
  absl::MutexLock lock(&mu_);
  for (auto& [size, buffer] : buffers) free_.emplace(size, std::move(buffer));
}

void StagingPool::Trim() {
  absl::MutexLock lock(&mu_);
  free_.clear();
}

StateSnapshot& StateSnapshot::operator=(StateSnapshot&& other) noexcept {
  if (this != &other) {
    Release();
    items_ = std::move(other.items_);
    pool_ = other.pool_;
    buffers_ = std::move(other.buffers_);
    bytes_copied_ = other.bytes_copied_;
    other.items_.clear();
    other.buffers_.clear();
    other.pool_ = nullptr;
  }
  return *this;
}

void StateSnapshot::Release() {
  // The items borrow the buffers: they go first.
  items_.clear();
  if (pool_ != nullptr && !buffers_.empty()) pool_->Return(std::move(buffers_));
  buffers_.clear();
}

absl::StatusOr<StateSnapshot> StateSnapshot::Take(Checkpointables items, AsyncCopy mode,
                                                  StagingPool* pool, ThreadPool* threads) {
  StateSnapshot snapshot;
  snapshot.pool_ = pool;
  TreeCopier copier(pool, &snapshot.buffers_);
  for (auto& [name, value] : items) {
    if (const auto* object = std::get_if<std::shared_ptr<StatefulObject>>(&value)) {
      if (*object == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("checkpointable '", name, "' is null"));
      }
      absl::StatusOr<std::shared_ptr<StatefulObject>> copy = ObjectSnapshot::Of(**object);
      if (!copy.ok()) {
        return Annotate(copy.status(), absl::StrCat("snapshotting '", name, "'"));
      }
      snapshot.items_.emplace(name, *std::move(copy));
    } else if (mode == AsyncCopy::kHostCopy && std::holds_alternative<Tree>(value)) {
      absl::StatusOr<Tree> copy = copier.Copy(std::get<Tree>(value));
      if (!copy.ok()) return Annotate(copy.status(), absl::StrCat("copying '", name, "'"));
      snapshot.items_.emplace(name, *std::move(copy));
    } else {
      snapshot.items_.emplace(name, std::move(value));  // JSON, bytes, or a tree saved in place
    }
  }
  // Whatever the pool held that this save did not reuse is of no use to the next one.
  pool->Trim();
  if (copier.allocation_failed()) {
    return absl::ResourceExhaustedError(
        "cannot allocate host memory for the async save's copy of the state; save with "
        "AsyncCopy::kNoCopy or synchronously instead");
  }
  const std::vector<CopyPiece>& pieces = copier.pieces();
  CAIRN_RETURN_IF_ERROR(
      ParallelFor(threads, pieces.size(), threads ? threads->num_threads() : 1, [&](size_t i) {
        std::memcpy(pieces[i].to, pieces[i].from, pieces[i].size);
        return absl::OkStatus();
      }));
  snapshot.bytes_copied_ = copier.bytes();
  return snapshot;
}

}  // namespace cairn::internal
