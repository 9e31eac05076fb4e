// BlockCache: blocks kept by exact size, within a bound on the bytes kept.
#include "cairn/utils/block_cache.h"

#include "gtest/gtest.h"

namespace cairn {
namespace {

TEST(BlockCacheTest, AGivenBlockServesTheNextRequestOfItsSizeOnly) {
  BlockCache cache(1000);
  char block[100];
  EXPECT_TRUE(cache.Give(block, 100));
  EXPECT_EQ(cache.bytes(), 100u);
  EXPECT_EQ(cache.Take(99), nullptr);
  EXPECT_EQ(cache.Take(100), block);
  EXPECT_EQ(cache.Take(100), nullptr);
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(BlockCacheTest, RefusesBlocksBeyondItsBound) {
  BlockCache cache(250);
  char a[100], b[100], c[100];
  EXPECT_TRUE(cache.Give(a, 100));
  EXPECT_TRUE(cache.Give(b, 100));
  EXPECT_FALSE(cache.Give(c, 100));
  EXPECT_FALSE(cache.Give(c, ~uint64_t{0}));
  EXPECT_EQ(cache.bytes(), 200u);
}

}  // namespace
}  // namespace cairn
