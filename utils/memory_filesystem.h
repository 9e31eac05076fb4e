// An in-memory Filesystem that models what survives a power cut, for durability tests.
//
// Paths are absolute ("/a/b"); "/" always exists; "." and ".." are not supported. Semantics
// follow POSIX: a parent must exist to create in it, Rename replaces a file or an empty
// directory and moves a directory with its subtree, DeleteDir refuses a non-empty directory,
// and symlinks (made only by CreateSymlink) are never followed.
//
// Durability is modelled as a disk behind a page cache, with exactly two durable things:
//   - a file's content, recorded by WritableFile::Sync() on that file;
//   - a directory's entries (name -> file, directory or symlink), recorded by SyncDir() on that
//     directory. Syncing a directory records only its own entries: neither the content of the
//     files it names nor the entries of its subdirectories.
// SimulatePowerLoss() resets the filesystem to that durable state, walking down from "/": each
// directory's entries become those recorded at its last SyncDir (none if never synced), so
// entries created since vanish and entries deleted or renamed away since come back; each file
// reached that way gets the content recorded at its last Sync (empty if never synced).
// A Rename between two directories of which only one was synced can leave an object linked
// from both. For a file both names then refer to the same content, as hard links would; a
// directory is kept only at the first place a depth-first walk in name order reaches it, so
// that the result stays a tree.
//
// Files opened before a power loss belong to a process that no longer exists: every later call
// on them fails with FailedPrecondition. Thread-safe.
#ifndef CAIRN_UTILS_MEMORY_FILESYSTEM_H_
#define CAIRN_UTILS_MEMORY_FILESYSTEM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

class MemoryFilesystem final : public Filesystem {
 public:
  MemoryFilesystem();
  ~MemoryFilesystem() override;
  MemoryFilesystem(const MemoryFilesystem&) = delete;
  MemoryFilesystem& operator=(const MemoryFilesystem&) = delete;

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override;
  absl::StatusOr<FileInfo> Stat(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override;
  absl::StatusOr<std::vector<DirEntry>> ListDirEntries(const std::string& path) override;
  absl::Status CreateDir(const std::string& path) override;
  absl::Status DeleteFile(const std::string& path) override;
  absl::Status DeleteDir(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status SyncDir(const std::string& path) override;

  // Creates a symlink at `path` pointing to `target` (which need not exist), so that tests can
  // check that cairn refuses to follow one. Durable like any entry: after its parent's SyncDir.
  absl::Status CreateSymlink(const std::string& target, const std::string& path);

  // Drops everything not yet durable, as a power cut would (see the model above).
  void SimulatePowerLoss();

  // Internal; public only so that the file classes in the .cc can name it.
  struct Inode;

 private:
  friend class MemoryWritableFile;
  friend class MemoryReadableFile;

  // The inode at `path`, or NotFound / FailedPrecondition naming `operation`.
  absl::StatusOr<std::shared_ptr<Inode>> Lookup(const std::string& path,
                                                absl::string_view operation)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The directory that would hold `path`, and the last component's name.
  absl::StatusOr<std::pair<std::shared_ptr<Inode>, std::string>> LookupParent(
      const std::string& path, absl::string_view operation) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds a new entry `path` for `inode`; AlreadyExists if the name is taken.
  absl::Status Link(const std::string& path, std::shared_ptr<Inode> inode,
                    absl::string_view operation) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::shared_ptr<Inode> root_ ABSL_GUARDED_BY(mu_);
  // Counts power losses, so that files opened before one can tell.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cairn

#endif  // CAIRN_UTILS_MEMORY_FILESYSTEM_H_
