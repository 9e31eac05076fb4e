#include "cairn/utils/crc32c.h"

#include <string>

#include "gtest/gtest.h"

namespace cairn {
namespace {

TEST(Crc32cTest, StandardCheckValue) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32cExtendPortable(0, "123456789", 9), 0xE3069283u);
}

TEST(Crc32cTest, EmptyInputIsZero) { EXPECT_EQ(Crc32c(""), 0u); }

TEST(Crc32cTest, KnownVectorOf32Zeros) {
  // RFC 3720 (iSCSI) B.4: 32 bytes of zeros.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
}

TEST(Crc32cTest, ExtendingEqualsWholeAtEverySplitAndAlignment) {
  std::string data;
  for (int i = 0; i < 300; ++i) data.push_back(static_cast<char>(i * 131 + 7));
  for (size_t start = 0; start < 9; ++start) {
    absl::string_view piece = absl::string_view(data).substr(start);
    uint32_t whole = Crc32c(piece);
    EXPECT_EQ(whole, Crc32cExtendPortable(0, piece.data(), piece.size()));
    for (size_t split = 0; split <= piece.size(); split += 7) {
      uint32_t head = Crc32c(piece.substr(0, split));
      EXPECT_EQ(Crc32cExtend(head, piece.data() + split, piece.size() - split), whole);
    }
  }
}

}  // namespace
}  // namespace cairn
