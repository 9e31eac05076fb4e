// Opening paths without following a symlink in any component, the rule the POSIX filesystem
// applies to every path: openat2 with RESOLVE_NO_SYMLINKS where the kernel has it, and where it
// does not, a walk that opens one component at a time with O_NOFOLLOW.
#ifndef CAIRN_UTILS_INTERNAL_NO_SYMLINK_OPEN_H_
#define CAIRN_UTILS_INTERNAL_NO_SYMLINK_OPEN_H_

#include <fcntl.h>
#include <sys/types.h>

#include <string>

namespace cairn {
namespace internal {

// An owned descriptor; AT_FDCWD and -1 are held without being closed.
class ScopedFd {
 public:
  ScopedFd() = default;
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(ScopedFd&& other) noexcept : fd_(other.release()) {}
  ScopedFd& operator=(ScopedFd&& other) noexcept;
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0 || fd_ == AT_FDCWD; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset();

 private:
  int fd_ = -1;
};

// open(2) of `path` with `flags` (O_CLOEXEC and O_NOFOLLOW are added), refusing a symlink in any
// component with ELOOP. Returns an invalid descriptor with errno set on failure.
ScopedFd OpenNoSymlinks(const std::string& path, int flags, mode_t mode = 0);

// The fallback OpenNoSymlinks takes where openat2 is missing, open by itself so that tests run
// it on kernels that have openat2: each directory on the way is opened alone with O_NOFOLLOW.
ScopedFd OpenNoSymlinksByWalk(const std::string& path, int flags, mode_t mode = 0);

// The directory holding `path`'s last component, opened the same way (AT_FDCWD for a bare
// relative name), and that component in `*name`: for the *at() calls that act on a name itself
// (stat, mkdir, unlink, rename) and so never follow it. `*name` is "." for "/" and ".".
ScopedFd OpenParentNoSymlinks(const std::string& path, std::string* name);

// For an error message after ELOOP: the first component of `path` that is a symlink, or empty if
// none is (the link was replaced meanwhile).
std::string FirstSymlinkComponent(const std::string& path);

}  // namespace internal
}  // namespace cairn

#endif  // CAIRN_UTILS_INTERNAL_NO_SYMLINK_OPEN_H_
