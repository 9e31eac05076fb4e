// The production Filesystem: POSIX system calls, with every errno mapped to a Status that names
// the operation and the path.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/utils/filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/internal/no_symlink_open.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

// Linux moves at most about 2 GiB per read or write call; staying well below keeps every call
// complete on every platform and the short-transfer loop for genuine interruptions.
constexpr size_t kMaxTransfer = size_t{1} << 30;

absl::Status ErrnoError(int error, absl::string_view operation, absl::string_view path) {
  const std::string message = absl::StrCat(operation, " ", path, ": ", strerror(error));
  switch (error) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    case ENOTDIR:
    case ENOTEMPTY:
    case EISDIR:
    case ELOOP:
      return absl::FailedPreconditionError(message);
    case EIO:
      return absl::DataLossError(message);
    default:
      return absl::ErrnoToStatus(error, message);
  }
}

// An error of a call that resolved `path` without following symlinks: ELOOP (a link met on the
// way) or ENOTDIR (a link where a directory was opened as such) then read as "too many levels
// of symbolic links" or "not a directory"; say plainly which link it was.
absl::Status PathError(int error, absl::string_view operation, const std::string& path) {
  if (error == ELOOP || error == ENOTDIR) {
    const std::string link = internal::FirstSymlinkComponent(path);
    if (!link.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          operation, " ", path, ": ", link == path ? "it" : link,
          " is a symlink, and cairn never follows symlinks inside a checkpoint or its root"));
    }
  }
  return ErrnoError(error, operation, path);
}

FileInfo::Type TypeFromMode(mode_t mode) {
  if (S_ISREG(mode)) return FileInfo::Type::kFile;
  if (S_ISDIR(mode)) return FileInfo::Type::kDirectory;
  if (S_ISLNK(mode)) return FileInfo::Type::kSymlink;
  return FileInfo::Type::kOther;
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  absl::Status Append(absl::string_view data) override {
    return WriteAt(end_.load(std::memory_order_relaxed), data);
  }

  absl::Status WriteAt(uint64_t offset, absl::string_view data) override {
    if (fd_ < 0) return Closed("write");
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      const ssize_t n = ::pwrite(fd_, p, std::min(left, kMaxTransfer), static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError(errno, "write", path_);
      }
      if (n == 0) {
        return absl::ResourceExhaustedError(absl::StrCat("write ", path_, ": no bytes written"));
      }
      p += n;
      left -= static_cast<size_t>(n);
      offset += static_cast<uint64_t>(n);
      ExtendEnd(offset);
    }
    return absl::OkStatus();
  }

  // fsync, not fdatasync: a new file's size is metadata that fdatasync may leave behind.
  // sync_file_range starts writeback of dirty pages without waiting; an error it meets on the
  // device is the kernel's to report again at fsync, so none is lost by ignoring it here.
  void StartWriteback(uint64_t offset, uint64_t size) override {
    if (fd_ >= 0) {
      ::sync_file_range(fd_, static_cast<off64_t>(offset), static_cast<off64_t>(size),
                        SYNC_FILE_RANGE_WRITE);
    }
  }
  absl::Status Sync() override {
    if (fd_ < 0) return Closed("fsync");
    if (::fsync(fd_) != 0) return ErrnoError(errno, "fsync", path_);
    return absl::OkStatus();
  }

  absl::Status Close() override {
    if (fd_ < 0) return absl::OkStatus();
    const int fd = fd_;
    fd_ = -1;
    // Linux releases the descriptor even when close() is interrupted; retrying could close an
    // unrelated file opened meanwhile by another thread.
    if (::close(fd) != 0 && errno != EINTR) return ErrnoError(errno, "close", path_);
    return absl::OkStatus();
  }

  const std::string& path() const override { return path_; }

 private:
  absl::Status Closed(absl::string_view operation) const {
    return absl::FailedPreconditionError(absl::StrCat(operation, " ", path_, ": file is closed"));
  }

  // WriteAt may run on several threads at once, so the end only ever grows, atomically.
  void ExtendEnd(uint64_t end) {
    uint64_t seen = end_.load(std::memory_order_relaxed);
    while (seen < end && !end_.compare_exchange_weak(seen, end, std::memory_order_relaxed)) {
    }
  }

  int fd_;
  const std::string path_;
  // The end of the file as this handle wrote it; the file was created empty (O_TRUNC).
  std::atomic<uint64_t> end_{0};
};

class PosixFileMapping final : public FileMapping {
 public:
  PosixFileMapping(const char* data, uint64_t size) : FileMapping(data, size) {}
  ~PosixFileMapping() override {
    if (data() != nullptr) ::munmap(const_cast<char*>(data()), size());
  }
};

class PosixReadableFile final : public ReadableFile {
 public:
  PosixReadableFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixReadableFile() override { ::close(fd_); }

  absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* scratch) const override {
    size_t done = 0;
    while (done < n) {
      const ssize_t got = ::pread(fd_, scratch + done, std::min(n - done, kMaxTransfer),
                                  static_cast<off_t>(offset + done));
      if (got < 0) {
        if (errno == EINTR) continue;
        return ErrnoError(errno, "read", path_);
      }
      if (got == 0) break;  // end of file
      done += static_cast<size_t>(got);
    }
    return done;
  }

  absl::StatusOr<uint64_t> Size() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoError(errno, "stat", path_);
    return static_cast<uint64_t>(st.st_size);
  }

  absl::StatusOr<std::shared_ptr<const FileMapping>> Map(uint64_t size) const override {
    CAIRN_ASSIGN_OR_RETURN(const uint64_t file_size, Size());
    if (file_size < size) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot map ", size, " bytes of ", path_, ": it has only ", file_size));
    }
    if (size == 0) return std::make_shared<const PosixFileMapping>(nullptr, 0);
    // Private and read-only: the pages are the page cache's until someone writes, and nobody
    // can through this mapping.
    void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (data == MAP_FAILED) return ErrnoError(errno, "map", path_);
    return std::make_shared<const PosixFileMapping>(static_cast<const char*>(data), size);
  }

  const std::string& path() const override { return path_; }

 private:
  const int fd_;
  const std::string path_;
};

// Every path is resolved without following a symlink in any component (docs/DESIGN.md, "No
// symlinks"): names are looked up in a parent opened that way, with the *at() calls, which act on
// a name itself and never follow it. Callers first pass the directory they were given through
// CanonicalPath, so that links above it are resolved once and none are met below.
class PosixFilesystem final : public Filesystem {
 public:
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    internal::ScopedFd fd = internal::OpenNoSymlinks(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!fd.valid()) return PathError(errno, "create", path);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(fd.release(), path));
  }

  absl::StatusOr<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override {
    // O_NONBLOCK so that a FIFO planted at `path` is refused below instead of hanging the open;
    // it changes nothing for regular files.
    internal::ScopedFd fd = internal::OpenNoSymlinks(path, O_RDONLY | O_NONBLOCK);
    if (!fd.valid()) return PathError(errno, "open", path);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoError(errno, "stat", path);
    if (!S_ISREG(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat("open ", path, ": not a regular file"));
    }
    return std::unique_ptr<ReadableFile>(new PosixReadableFile(fd.release(), path));
  }

  absl::StatusOr<FileInfo> Stat(const std::string& path) override {
    std::string name;
    internal::ScopedFd parent = internal::OpenParentNoSymlinks(path, &name);
    if (!parent.valid()) return PathError(errno, "stat", path);
    struct stat st;
    if (::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError(errno, "stat", path);
    }
    FileInfo info;
    info.type = TypeFromMode(st.st_mode);
    info.size = static_cast<uint64_t>(st.st_size);
    info.modification_time = absl::TimeFromTimespec(st.st_mtim);
    return info;
  }

  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    CAIRN_ASSIGN_OR_RETURN(std::vector<DirEntry> entries, ListDirEntries(path));
    std::vector<std::string> names;
    names.reserve(entries.size());
    for (DirEntry& entry : entries) names.push_back(std::move(entry.name));
    return names;
  }

  absl::StatusOr<std::vector<DirEntry>> ListDirEntries(const std::string& path) override {
    internal::ScopedFd fd = internal::OpenNoSymlinks(path, O_RDONLY | O_DIRECTORY);
    if (!fd.valid()) return PathError(errno, "list", path);
    DIR* dir = ::fdopendir(fd.get());
    if (dir == nullptr) return ErrnoError(errno, "list", path);
    fd.release();  // the DIR owns it now
    std::vector<DirEntry> entries;
    errno = 0;
    while (struct dirent* entry = ::readdir(dir)) {
      const absl::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      DirEntry out{std::string(name), FileInfo::Type::kOther};
      switch (entry->d_type) {
        case DT_REG:
          out.type = FileInfo::Type::kFile;
          break;
        case DT_DIR:
          out.type = FileInfo::Type::kDirectory;
          break;
        case DT_LNK:
          out.type = FileInfo::Type::kSymlink;
          break;
        case DT_UNKNOWN: {
          // Some filesystems do not report types in listings; ask for this one.
          struct stat st;
          if (::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            out.type = TypeFromMode(st.st_mode);
          }
          break;
        }
        default:
          break;
      }
      entries.push_back(std::move(out));
      errno = 0;
    }
    const int error = errno;
    ::closedir(dir);
    if (error != 0) return ErrnoError(error, "list", path);
    return entries;
  }

  absl::Status CreateDir(const std::string& path) override {
    std::string name;
    internal::ScopedFd parent = internal::OpenParentNoSymlinks(path, &name);
    if (!parent.valid()) return PathError(errno, "mkdir", path);
    if (::mkdirat(parent.get(), name.c_str(), 0755) != 0) return ErrnoError(errno, "mkdir", path);
    return absl::OkStatus();
  }

  absl::Status DeleteFile(const std::string& path) override {
    std::string name;
    internal::ScopedFd parent = internal::OpenParentNoSymlinks(path, &name);
    if (!parent.valid()) return PathError(errno, "delete", path);
    if (::unlinkat(parent.get(), name.c_str(), 0) != 0) return ErrnoError(errno, "delete", path);
    return absl::OkStatus();
  }

  absl::Status DeleteDir(const std::string& path) override {
    std::string name;
    internal::ScopedFd parent = internal::OpenParentNoSymlinks(path, &name);
    if (!parent.valid()) return PathError(errno, "rmdir", path);
    if (::unlinkat(parent.get(), name.c_str(), AT_REMOVEDIR) != 0) {
      // POSIX allows EEXIST for a non-empty directory; report both the same way.
      const int error = errno == EEXIST ? ENOTEMPTY : errno;
      return ErrnoError(error, "rmdir", path);
    }
    return absl::OkStatus();
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    const std::string what = absl::StrCat(from, " to ", to);
    std::string from_name;
    internal::ScopedFd from_parent = internal::OpenParentNoSymlinks(from, &from_name);
    if (!from_parent.valid()) return PathError(errno, "rename", from);
    std::string to_name;
    internal::ScopedFd to_parent = internal::OpenParentNoSymlinks(to, &to_name);
    if (!to_parent.valid()) return PathError(errno, "rename", to);
    if (::renameat(from_parent.get(), from_name.c_str(), to_parent.get(), to_name.c_str()) != 0) {
      const int error = errno == EEXIST ? ENOTEMPTY : errno;
      return ErrnoError(error, "rename", what);
    }
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& path) override {
    internal::ScopedFd fd = internal::OpenNoSymlinks(path, O_RDONLY | O_DIRECTORY);
    if (!fd.valid()) return PathError(errno, "open directory", path);
    if (::fsync(fd.get()) != 0) return ErrnoError(errno, "fsync directory", path);
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> CanonicalPath(const std::string& path) override;
};

absl::StatusOr<std::string> PosixFilesystem::CanonicalPath(const std::string& path) {
  std::string existing = path.empty() ? "." : path;
  while (existing.size() > 1 && existing.back() == '/') existing.pop_back();
  std::vector<std::string> missing;
  const auto split_last = [&existing, &missing] {
    const size_t slash = existing.rfind('/');
    if (slash == std::string::npos) {
      missing.push_back(existing);
      existing = ".";
    } else {
      missing.push_back(existing.substr(slash + 1));
      existing = slash == 0 ? "/" : existing.substr(0, slash);
    }
  };
  // realpath needs every component to exist; a directory a save is about to create does not yet,
  // so resolve the longest existing ancestor and append the rest as spelled.
  while (true) {
    std::unique_ptr<char, decltype(&::free)> resolved(::realpath(existing.c_str(), nullptr),
                                                      &::free);
    if (resolved != nullptr) {
      std::string result = resolved.get();
      for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        if (*it == "..") {
          result = ParentPath(result);
        } else if (*it != "." && !it->empty()) {
          result = JoinPath(result, *it);
        }
      }
      return result;
    }
    if (errno != ENOENT || existing == "." || existing == "/") {
      return ErrnoError(errno, "resolve", path);
    }
    split_last();
  }
}

}  // namespace

Filesystem* Filesystem::Default() {
  // Never destroyed, so that files closed during static destruction still have a filesystem.
  static Filesystem* const filesystem = new PosixFilesystem();
  return filesystem;
}

}  // namespace cairn
