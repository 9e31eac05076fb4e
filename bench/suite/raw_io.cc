#include "bench/suite/raw_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"

namespace cairn::bench {
namespace {

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

absl::Status ReadFully(int fd, char* out, uint64_t size, uint64_t offset, const std::string& path) {
  while (size > 0) {
    const ssize_t n =
        ::pread(fd, out, std::min<uint64_t>(size, 1 << 30), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? Errno("read", path) : absl::DataLossError(path + " is short");
    out += n;
    offset += static_cast<uint64_t>(n);
    size -= static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status Compare(const StateLeaf& leaf, const char* loaded) {
  if (std::memcmp(leaf.data, loaded, leaf.bytes) != 0) {
    return absl::DataLossError(absl::StrCat("raw read of ", leaf.path, " differs from the state"));
  }
  return absl::OkStatus();
}

// Where the leaf at `leaf` starts in the file RawSave writes.
uint64_t LeafOffset(const BenchState& state, size_t leaf) {
  uint64_t offset = 0;
  for (size_t i = 0; i < leaf; ++i) offset += state.leaves[i].bytes;
  return offset;
}

// Fresh anonymous memory, unmapped when it goes.
class Mapping {
 public:
  explicit Mapping(uint64_t bytes)
      : bytes_(bytes),
        data_(::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) {}
  ~Mapping() {
    if (data_ != MAP_FAILED) ::munmap(data_, bytes_);
  }
  char* get() const { return data_ == MAP_FAILED ? nullptr : static_cast<char*>(data_); }

 private:
  uint64_t bytes_;
  void* data_;
};

constexpr uint64_t kPageBytes = 4096;

}  // namespace

absl::StatusOr<double> RawSave(const BenchState& state, const std::string& path) {
  const double start = NowSeconds();
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return Errno("open", path);
  for (const StateLeaf& leaf : state.leaves) {
    const char* p = leaf.data;
    uint64_t left = leaf.bytes;
    while (left > 0) {
      const ssize_t n = ::write(fd.get(), p, std::min<uint64_t>(left, 1 << 30));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Errno("write", path);
      p += n;
      left -= static_cast<uint64_t>(n);
    }
  }
  if (::fsync(fd.get()) != 0) return Errno("fsync", path);
  return NowSeconds() - start;
}

absl::StatusOr<double> RawLoad(const BenchState& state, const std::string& path) {
  std::vector<std::unique_ptr<char[]>> loaded;
  loaded.reserve(state.leaves.size());
  const double start = NowSeconds();
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Errno("open", path);
  uint64_t offset = 0;
  for (const StateLeaf& leaf : state.leaves) {
    loaded.emplace_back(new char[leaf.bytes]);
    absl::Status read = ReadFully(fd.get(), loaded.back().get(), leaf.bytes, offset, path);
    if (!read.ok()) return read;
    offset += leaf.bytes;
  }
  const double seconds = NowSeconds() - start;
  for (size_t i = 0; i < state.leaves.size(); ++i) {
    absl::Status same = Compare(state.leaves[i], loaded[i].get());
    if (!same.ok()) return same;
  }
  return seconds;
}

absl::StatusOr<double> RawPartialLoad(const BenchState& state, const std::string& path,
                                      size_t leaf) {
  const uint64_t offset = LeafOffset(state, leaf);
  const double start = NowSeconds();
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Errno("open", path);
  std::unique_ptr<char[]> loaded(new char[state.leaves[leaf].bytes]);
  absl::Status read = ReadFully(fd.get(), loaded.get(), state.leaves[leaf].bytes, offset, path);
  if (!read.ok()) return read;
  const double seconds = NowSeconds() - start;
  absl::Status same = Compare(state.leaves[leaf], loaded.get());
  if (!same.ok()) return same;
  return seconds;
}

double MemcpySeconds(const BenchState& state, int runs) {
  std::unique_ptr<char[]> target(new char[state.bytes]);
  std::memset(target.get(), 1, state.bytes);
  std::vector<double> times;
  for (int run = 0; run < runs; ++run) {
    const double start = NowSeconds();
    uint64_t at = 0;
    for (const StateLeaf& leaf : state.leaves) {
      std::memcpy(target.get() + at, leaf.data, leaf.bytes);
      at += leaf.bytes;
    }
    times.push_back(NowSeconds() - start);
  }
  return Median(times);
}

absl::StatusOr<double> FirstTouchSeconds(uint64_t bytes, bool huge_pages) {
  const double start = NowSeconds();
  Mapping fresh(bytes);
  if (fresh.get() == nullptr) return Errno("mmap", "fresh memory");
  if (huge_pages && ::madvise(fresh.get(), bytes, MADV_HUGEPAGE) != 0) {
    return Errno("madvise(MADV_HUGEPAGE)", "fresh memory");
  }
  volatile char* bytes_of = fresh.get();
  for (uint64_t at = 0; at < bytes; at += kPageBytes) bytes_of[at] = 1;
  return NowSeconds() - start;
}

absl::StatusOr<double> PreadSeconds(const BenchState& state, const std::string& path, int leaf) {
  const uint64_t offset = leaf < 0 ? 0 : LeafOffset(state, static_cast<size_t>(leaf));
  const uint64_t bytes = leaf < 0 ? state.bytes : state.leaves[static_cast<size_t>(leaf)].bytes;
  // One target for every call, mapped and touched once, as cairn's loads into destinations
  // reuse theirs: here the first write into a page costs a fault even when the kernel makes it
  // (a fresh touched buffer made a warm 256 MiB pread 20 times slower), and that is not the
  // read's cost.
  static std::unique_ptr<Mapping> target;
  static uint64_t target_bytes = 0;
  if (bytes > target_bytes || target == nullptr) {
    target = std::make_unique<Mapping>(std::max<uint64_t>(bytes, 1));
    if (target->get() == nullptr) return Errno("mmap", "pread target");
    std::memset(target->get(), 1, bytes);
    target_bytes = bytes;
  }
  const double start = NowSeconds();
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Errno("open", path);
  absl::Status read = ReadFully(fd.get(), target->get(), bytes, offset, path);
  if (!read.ok()) return read;
  return NowSeconds() - start;
}

}  // namespace cairn::bench
