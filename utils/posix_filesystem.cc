// The production Filesystem: POSIX system calls, with every errno mapped to a Status that names
// the operation and the path.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
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

// An open() error. With O_NOFOLLOW a symlink as the final component fails with ELOOP, which
// otherwise reads as "too many levels of symbolic links"; say plainly what happened.
absl::Status OpenError(int error, absl::string_view operation, const std::string& path) {
  struct stat st;
  if (error == ELOOP && ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        operation, " ", path, ": it is a symlink, and cairn never opens files through symlinks"));
  }
  return ErrnoError(error, operation, path);
}

int OpenRetryingOnInterrupt(const std::string& path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
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

  const std::string& path() const override { return path_; }

 private:
  const int fd_;
  const std::string path_;
};

class PosixFilesystem final : public Filesystem {
 public:
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    const int fd =
        OpenRetryingOnInterrupt(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return OpenError(errno, "create", path);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(fd, path));
  }

  absl::StatusOr<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override {
    // O_NONBLOCK so that a FIFO planted at `path` is refused below instead of hanging the open;
    // it changes nothing for regular files.
    const int fd = OpenRetryingOnInterrupt(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return OpenError(errno, "open", path);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int error = errno;
      ::close(fd);
      return ErrnoError(error, "stat", path);
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      return absl::FailedPreconditionError(absl::StrCat("open ", path, ": not a regular file"));
    }
    return std::unique_ptr<ReadableFile>(new PosixReadableFile(fd, path));
  }

  absl::StatusOr<FileInfo> Stat(const std::string& path) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return ErrnoError(errno, "stat", path);
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
    const int fd = OpenRetryingOnInterrupt(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoError(errno, "list", path);
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
      const int error = errno;
      ::close(fd);
      return ErrnoError(error, "list", path);
    }
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
    if (::mkdir(path.c_str(), 0755) != 0) return ErrnoError(errno, "mkdir", path);
    return absl::OkStatus();
  }

  absl::Status DeleteFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoError(errno, "delete", path);
    return absl::OkStatus();
  }

  absl::Status DeleteDir(const std::string& path) override {
    if (::rmdir(path.c_str()) != 0) {
      // POSIX allows EEXIST for a non-empty directory; report both the same way.
      const int error = errno == EEXIST ? ENOTEMPTY : errno;
      return ErrnoError(error, "rmdir", path);
    }
    return absl::OkStatus();
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      const int error = errno == EEXIST ? ENOTEMPTY : errno;
      return ErrnoError(error, "rename", absl::StrCat(from, " to ", to));
    }
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& path) override {
    const int fd = OpenRetryingOnInterrupt(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoError(errno, "open directory", path);
    const int result = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (result != 0) return ErrnoError(error, "fsync directory", path);
    return absl::OkStatus();
  }
};

}  // namespace

Filesystem* Filesystem::Default() {
  // Never destroyed, so that files closed during static destruction still have a filesystem.
  static Filesystem* const filesystem = new PosixFilesystem();
  return filesystem;
}

}  // namespace cairn
