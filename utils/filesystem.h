// The Filesystem seam: every byte cairn reads or writes goes through this interface.
//
// The production implementation is POSIX (`Filesystem::Default()`). Tests substitute an in-memory
// filesystem that can simulate power loss, or a wrapper that injects failures, so that every
// durability claim is exercised without touching a real disk.
#ifndef CAIRN_UTILS_FILESYSTEM_H_
#define CAIRN_UTILS_FILESYSTEM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cairn {

// What `Filesystem::Stat` reports. Symlinks are reported as such, never followed.
struct FileInfo {
  enum class Type { kFile, kDirectory, kSymlink, kOther };
  Type type = Type::kOther;
  uint64_t size = 0;
  absl::Time modification_time;

  bool is_file() const { return type == Type::kFile; }
  bool is_directory() const { return type == Type::kDirectory; }
  bool is_symlink() const { return type == Type::kSymlink; }
};

// One entry of a directory listing.
struct DirEntry {
  std::string name;
  FileInfo::Type type = FileInfo::Type::kOther;
};

// A file open for writing. `Append` and `WriteAt` may be mixed; `WriteAt` calls on disjoint
// ranges are safe from several threads at once, `Append` is not.
class WritableFile {
 public:
  virtual ~WritableFile() = default;

  // Writes `data` at the current end of the file.
  virtual absl::Status Append(absl::string_view data) = 0;
  // Writes `data` at `offset` (pwrite semantics), extending the file when needed.
  virtual absl::Status WriteAt(uint64_t offset, absl::string_view data) = 0;
  // Makes everything written so far durable (fsync). Only synced data survives a power loss.
  virtual absl::Status Sync() = 0;
  // Asks for [offset, offset + size) to start going to the device now, without waiting for it,
  // so that the device works while the writer goes on and a later Sync has less left to wait
  // for. A hint: it makes nothing durable, and files that cannot take it ignore it.
  virtual void StartWriteback(uint64_t /*offset*/, uint64_t /*size*/) {}
  // Closes the file; further calls fail. The destructor closes without reporting errors.
  virtual absl::Status Close() = 0;

  virtual const std::string& path() const = 0;
};

// A read-only mapping of the first size() bytes of a file into memory. The pages are the page
// cache's, shared with every other reader of the file, and stay mapped while this object lives.
class FileMapping {
 public:
  virtual ~FileMapping() = default;

  const char* data() const { return data_; }
  uint64_t size() const { return size_; }

 protected:
  FileMapping(const char* data, uint64_t size) : data_(data), size_(size) {}

 private:
  const char* const data_;
  const uint64_t size_;
};

// A file open for reading at arbitrary offsets; all methods are safe from several threads.
class ReadableFile {
 public:
  virtual ~ReadableFile() = default;

  // Reads up to `n` bytes at `offset` into `scratch`. Returns the number of bytes read, which is
  // less than `n` only when the end of the file is reached.
  virtual absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* scratch) const = 0;
  // The file's current size in bytes.
  virtual absl::StatusOr<uint64_t> Size() const = 0;
  // Maps the first `size` bytes of the file read-only, for loads that hand out views of a file's
  // bytes instead of copies. FailedPrecondition when the file is shorter than `size` (a page past
  // its end would fault with SIGBUS when touched). Files that cannot be mapped (in memory,
  // wrapped to inject faults) return Unimplemented, the default: callers then read.
  virtual absl::StatusOr<std::shared_ptr<const FileMapping>> Map(uint64_t size) const;

  virtual const std::string& path() const = 0;
};

// Errors carry the operation and the path, and use absl codes for what they mean: NotFound,
// AlreadyExists, PermissionDenied, ResourceExhausted (ENOSPC, EDQUOT), FailedPrecondition (not
// a directory, directory not empty), Internal or the errno's code otherwise.
class Filesystem {
 public:
  virtual ~Filesystem() = default;

  // The process-wide POSIX filesystem. Never null, never destroyed.
  static Filesystem* Default();

  // Creates `path` or truncates it. Fails if `path` is a symlink: cairn never writes through one.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) = 0;
  // Opens `path` for reading. Fails if `path` is a symlink: a checkpoint's files are read only
  // where they are, never where a link points.
  virtual absl::StatusOr<std::unique_ptr<ReadableFile>> NewReadableFile(
      const std::string& path) = 0;

  // Describes `path` without following a final symlink (lstat).
  virtual absl::StatusOr<FileInfo> Stat(const std::string& path) = 0;
  // The names in directory `path`, without "." and "..", in no particular order.
  virtual absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) = 0;
  // Like ListDir, with each entry's type (symlinks not followed). The default calls Stat per
  // entry; POSIX reads the type from the directory itself, which makes listing 10,000 steps
  // one pass over the directory.
  virtual absl::StatusOr<std::vector<DirEntry>> ListDirEntries(const std::string& path);

  // Creates one directory; AlreadyExists if anything exists at `path`.
  virtual absl::Status CreateDir(const std::string& path) = 0;
  // Removes a file (or a symlink, without touching its target).
  virtual absl::Status DeleteFile(const std::string& path) = 0;
  // Removes an empty directory.
  virtual absl::Status DeleteDir(const std::string& path) = 0;
  // rename(2): atomically replaces `to` if it is a file or an empty directory.
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  // Makes the directory's entries (creations, renames, deletions) durable.
  virtual absl::Status SyncDir(const std::string& path) = 0;

  // `path` with every symlink, "." and ".." resolved, like realpath(3) but also for a path whose
  // last components do not exist yet (they are appended as spelled). No operation above follows
  // a symlink in any component of the path it is given (POSIX: openat2 with
  // RESOLVE_NO_SYMLINKS), so every public entry point passes the directory its caller named
  // through here first (ResolveRoot, ResolveAbove): links above that directory are the caller's
  // choice and are resolved once; none is followed below it. The default returns `path`
  // unchanged, for filesystems that have no links to resolve.
  virtual absl::StatusOr<std::string> CanonicalPath(const std::string& path);
};

}  // namespace cairn

#endif  // CAIRN_UTILS_FILESYSTEM_H_
