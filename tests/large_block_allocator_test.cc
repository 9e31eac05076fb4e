// LargeBlockAllocator (utils/large_block_allocator.h): small arrays from the heap, large ones in
// huge-page blocks that are kept for the next array of their size.
#include "cairn/utils/large_block_allocator.h"

#include <cstdint>
#include <vector>

#include "cairn/utils/fresh_memory.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

uint64_t RoundedBlock(size_t bytes) {
  return (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
}

TEST(LargeBlockAllocatorTest, AVectorKeepsItsElementsAsItGrowsPastTheThreshold) {
  LargeVector<uint64_t> values;
  const size_t count = 3 * kLargeBlockBytes / sizeof(uint64_t);
  for (size_t i = 0; i < count; ++i) values.push_back(i * 7919);
  ASSERT_EQ(values.size(), count);
  for (size_t i = 0; i < count; ++i) ASSERT_EQ(values[i], i * 7919) << i;
}

TEST(LargeBlockAllocatorTest, AFreedLargeArrayIsKeptForTheNextOfItsSize) {
  // A size of its own (five huge pages and a little), so that no other array takes the block.
  const size_t count = (5 * kHugePageBytes + 4096) / sizeof(uint32_t);
  const void* first = nullptr;
  uint64_t kept_while_alive = 0;
  {
    LargeVector<uint32_t> values(count, 5);
    first = values.data();
    kept_while_alive = KeptFreshMemoryBytes();
  }
  EXPECT_EQ(KeptFreshMemoryBytes(), kept_while_alive + RoundedBlock(count * sizeof(uint32_t)));
  LargeVector<uint32_t> again(count, 6);
  EXPECT_EQ(again.data(), first);
  EXPECT_EQ(KeptFreshMemoryBytes(), kept_while_alive);
  EXPECT_EQ(again.front(), 6u);
  EXPECT_EQ(again.back(), 6u);
}

TEST(LargeBlockAllocatorTest, SmallArraysAreNotKept) {
  const uint64_t kept_before = KeptFreshMemoryBytes();
  { LargeVector<char> small(kLargeBlockBytes - 1, 'x'); }
  EXPECT_EQ(KeptFreshMemoryBytes(), kept_before);
}

TEST(LargeBlockAllocatorTest, EveryInstanceFreesWhatAnotherAllocated) {
  LargeBlockAllocator<uint64_t> one;
  LargeBlockAllocator<char> other;
  EXPECT_TRUE(one == other);
  EXPECT_FALSE(one != other);
  const size_t count = kLargeBlockBytes / sizeof(uint64_t);
  uint64_t* block = one.allocate(count);
  block[0] = 1;
  block[count - 1] = 2;
  LargeBlockAllocator<uint64_t>(other).deallocate(block, count);
}

}  // namespace
}  // namespace cairn
