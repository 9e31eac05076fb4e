#include "cairn/utils/internal/no_symlink_open.h"

#include <errno.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace cairn {
namespace internal {
namespace {

constexpr int kDirFlags = O_PATH | O_DIRECTORY | O_CLOEXEC;

// Once a kernel has said it lacks openat2 (before 5.6, or a sandbox that filters it), every later
// open takes the walk without asking again.
std::atomic<bool> openat2_missing{false};

int RetryOnInterrupt(int (*call)(int, const char*, int, mode_t), int dir, const char* path,
                     int flags, mode_t mode) {
  int fd;
  do {
    fd = call(dir, path, flags, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

int OpenAt2(int dir, const char* path, int flags, mode_t mode) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
  how.resolve = RESOLVE_NO_SYMLINKS;
  return static_cast<int>(::syscall(SYS_openat2, dir, path, &how, sizeof(how)));
}

int OpenAt(int dir, const char* path, int flags, mode_t mode) {
  return ::openat(dir, path, flags, mode);
}

std::vector<absl::string_view> Components(const std::string& path) {
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (!part.empty() && part != ".") parts.push_back(part);
  }
  return parts;
}

// Every directory on the way is opened by itself, without following it, and checked to be a
// directory and not a link before the next name is looked up inside it.
ScopedFd WalkOpen(const std::string& path, int flags, mode_t mode) {
  const std::vector<absl::string_view> parts = Components(path);
  ScopedFd dir(AT_FDCWD);
  if (!path.empty() && path.front() == '/') {
    dir = ScopedFd(RetryOnInterrupt(OpenAt, AT_FDCWD, "/", kDirFlags, 0));
    if (!dir.valid()) return dir;
  }
  if (parts.empty()) return ScopedFd(RetryOnInterrupt(OpenAt, dir.get(), ".", flags, mode));
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const std::string name(parts[i]);
    ScopedFd next(
        RetryOnInterrupt(OpenAt, dir.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC, 0));
    if (!next.valid()) return next;
    struct stat st;
    if (::fstat(next.get(), &st) != 0) return ScopedFd();
    if (!S_ISDIR(st.st_mode)) {
      errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
      return ScopedFd();
    }
    dir = std::move(next);
  }
  const std::string last(parts.back());
  return ScopedFd(RetryOnInterrupt(OpenAt, dir.get(), last.c_str(), flags, mode));
}

}  // namespace

ScopedFd& ScopedFd::operator=(ScopedFd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = other.release();
  }
  return *this;
}

void ScopedFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

ScopedFd OpenNoSymlinks(const std::string& path, int flags, mode_t mode) {
  flags |= O_CLOEXEC | O_NOFOLLOW;
  if (!openat2_missing.load(std::memory_order_relaxed)) {
    const int fd = RetryOnInterrupt(OpenAt2, AT_FDCWD, path.c_str(), flags, mode);
    if (fd >= 0 || errno != ENOSYS) return ScopedFd(fd);
    openat2_missing.store(true, std::memory_order_relaxed);
  }
  return WalkOpen(path, flags, mode);
}

ScopedFd OpenNoSymlinksByWalk(const std::string& path, int flags, mode_t mode) {
  return WalkOpen(path, flags | O_CLOEXEC | O_NOFOLLOW, mode);
}

ScopedFd OpenParentNoSymlinks(const std::string& path, std::string* name) {
  absl::string_view rest = path;
  while (rest.size() > 1 && rest.back() == '/') rest.remove_suffix(1);
  const size_t slash = rest.rfind('/');
  if (slash == absl::string_view::npos) {
    *name = rest.empty() ? "." : std::string(rest);
    return ScopedFd(AT_FDCWD);
  }
  *name = rest.size() == 1 ? "." : std::string(rest.substr(slash + 1));
  return OpenNoSymlinks(slash == 0 ? "/" : std::string(rest.substr(0, slash)), kDirFlags);
}

std::string FirstSymlinkComponent(const std::string& path) {
  std::string prefix = !path.empty() && path.front() == '/' ? "" : ".";
  for (absl::string_view part : Components(path)) {
    prefix.append("/").append(part.data(), part.size());
    struct stat st;
    if (::lstat(prefix.c_str(), &st) != 0) return "";
    if (S_ISLNK(st.st_mode)) return prefix.front() == '.' ? prefix.substr(2) : prefix;
  }
  return "";
}

}  // namespace internal
}  // namespace cairn
