// Checksum64 is XXH3-64 whichever implementation the CPU gets (utils/checksum.cc picks an AVX2
// build where it can): every length class of XXH3 and unaligned inputs hash as the system's
// xxHash library hashes them, and the streaming digest agrees with the one-shot one.
#include "cairn/utils/checksum.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

std::string RandomBytes(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  return bytes;
}

TEST(Checksum64, EmptyInputHasXxh3sKnownValue) {
  EXPECT_EQ(Checksum64("", 0), uint64_t{0x2D06800538D394C2});
}

// XXH3 takes different paths for 0, 1-3, 4-8, 9-16, 17-128 and 129-240 bytes, and above that
// for whole and partial stripes (64 bytes) and blocks (1 KiB); each offset shifts the alignment.
TEST(Checksum64, EveryShortLengthAndAlignmentMatchesTheLibrary) {
  const std::string bytes = RandomBytes(2600, 1);
  for (size_t offset = 0; offset < 4; ++offset) {
    for (size_t size = 0; size + offset <= 2500; ++size) {
      const char* data = bytes.data() + offset;
      ASSERT_EQ(Checksum64(data, size), XXH3_64bits(data, size))
          << size << " bytes at offset " << offset;
    }
  }
}

TEST(Checksum64, LargeUnalignedInputsMatchTheLibrary) {
  const std::string bytes = RandomBytes((16 << 20) + 64, 2);
  for (size_t size : {size_t{1} << 20, (size_t{1} << 20) + 13, size_t{16} << 20}) {
    const char* data = bytes.data() + 7;
    EXPECT_EQ(Checksum64(data, size), XXH3_64bits(data, size)) << size << " bytes";
  }
}

TEST(Checksum64, ChangesWithOneFlippedBit) {
  std::string bytes = RandomBytes(1 << 16, 3);
  const uint64_t before = Checksum64(bytes);
  bytes[40000] ^= 0x10;
  EXPECT_NE(Checksum64(bytes), before);
}

TEST(StreamingChecksum64, DigestOfPiecesEqualsTheWholesChecksum) {
  const std::string bytes = RandomBytes(300000, 4);
  StreamingChecksum64 streaming;
  size_t at = 0;
  for (size_t piece = 1; at < bytes.size(); piece = piece * 3 + 1) {
    const size_t size = std::min(piece, bytes.size() - at);
    streaming.Update(absl::string_view(bytes.data() + at, size));
    at += size;
  }
  EXPECT_EQ(streaming.Digest(), Checksum64(bytes));
}

}  // namespace
}  // namespace cairn
