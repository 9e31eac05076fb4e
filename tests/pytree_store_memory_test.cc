// Loads take memory in proportion to what is on disk: a small hostile index cannot make them
// allocate without bound.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/huge_index.h"
#include "tests/support/temp_dir.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CAIRN_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CAIRN_SANITIZED 1
#endif

namespace cairn {
namespace {

using testing::TempDir;

// The process's current address-space size, from /proc/self/status.
uint64_t AddressSpaceBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (!absl::StartsWith(line, "VmSize:")) continue;
    std::string kb = line.substr(7);
    kb = kb.substr(0, kb.find("kB"));
    uint64_t value = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(kb), &value)) return value << 10;
  }
  return 0;
}

// Reads the index's metadata with at most `headroom` more address space than the process has,
// and exits 0 when that is refused as corrupt.
[[noreturn]] void ReadMetadataWithin(const std::string& dir, uint64_t headroom) {
  const uint64_t limit = AddressSpaceBytes() + headroom;
  const rlimit rl{limit, limit};
  if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(2);
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(dir);
  _exit(metadata.status().code() == absl::StatusCode::kDataLoss &&
                absl::StrContains(metadata.status().message(), "_CAIRN_INDEX")
            ? 0
            : 1);
}

TEST(IndexParseMemoryTest, MillionsOfEmptyChunkRecordsAreRefusedInBoundedMemory) {
#ifdef CAIRN_SANITIZED
  GTEST_SKIP() << "sanitizers reserve more address space than the limit this test sets";
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempDir tmp;
  // 6 million records are 12 MB on disk; parsing them as messages takes over 400 MB.
  constexpr uint64_t kRecords = 6'000'000;
  ASSERT_TRUE(testing::WriteIndexOfEmptyChunks(*Filesystem::Default(), tmp.path(), kRecords).ok());
  EXPECT_EXIT(ReadMetadataWithin(tmp.path(), /*headroom=*/2 * 2 * kRecords + (64 << 20)),
              ::testing::ExitedWithCode(0), "");
#endif
}

}  // namespace
}  // namespace cairn
