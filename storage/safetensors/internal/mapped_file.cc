#include "cairn/storage/safetensors/internal/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace cairn::internal {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path, int error) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(error)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<MappedFile>> MappedFile::Map(const std::string& path,
                                                            uint64_t expected_size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening", path, errno);
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    const int error = errno;
    ::close(fd);
    return ErrnoError("stat of", path, error);
  }
  if (!S_ISREG(info.st_mode) || static_cast<uint64_t>(info.st_size) != expected_size) {
    ::close(fd);
    return absl::FailedPreconditionError(absl::StrCat(path, " changed while it was read (",
                                                      info.st_size, " bytes, expected ",
                                                      expected_size, ")"));
  }
  if (expected_size == 0) {
    ::close(fd);
    return std::unique_ptr<MappedFile>(new MappedFile(nullptr, 0));
  }
  void* data = ::mmap(nullptr, expected_size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int error = errno;
  ::close(fd);
  if (data == MAP_FAILED) return ErrnoError("mapping", path, error);
  // The store reads each tensor once, front to back.
  ::madvise(data, expected_size, MADV_SEQUENTIAL);
  return std::unique_ptr<MappedFile>(new MappedFile(static_cast<const char*>(data), expected_size));
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
}

}  // namespace cairn::internal
