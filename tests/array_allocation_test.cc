// Fresh memory for arrays and async staging copies (utils/fresh_memory.h): blocks of 4 MiB or
// more are mappings of their own advised for huge pages, freed with their last owner; smaller
// ones come from the heap as before.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "cairn/storage/array.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/fresh_memory.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using testing::RandomBytes;
using testing::TempDir;
using testing::TreesEqual;

constexpr uint64_t kLarge = (uint64_t{5} << 20) + 12345;

bool Aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % 64 == 0; }

// The VmFlags of the mapping holding `address` in /proc/self/smaps ("" when none holds it).
std::string VmFlagsOf(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const uintptr_t at = reinterpret_cast<uintptr_t>(address);
  bool inside = false;
  std::string line;
  while (std::getline(smaps, line)) {
    uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> begin >> dash >> end && dash == '-' && line.find(' ') != line.npos &&
        line.find(':') > line.find(' ')) {
      inside = begin <= at && at < end;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return "";
}

bool HugeAdvised(const void* address) {
  return VmFlagsOf(address).find(" hg") != std::string::npos;
}

bool KernelHasHugePages() {
  return access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0;
}

bool Mapped(const void* address) {
  unsigned char resident = 0;
  return ::mincore(const_cast<void*>(address), 1, &resident) == 0 || errno != ENOMEM;
}

TEST(ArrayAllocationTest, LargeArrayIsWritableAlignedAndOfItsSize) {
  absl::StatusOr<Array> array = Array::Allocate(DType::kUInt8, {static_cast<int64_t>(kLarge)});
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->byte_size(), kLarge);
  EXPECT_TRUE(Aligned(array->data()));
  auto bytes = array->mutable_values<uint8_t>();
  ASSERT_EQ(bytes.size(), kLarge);
  EXPECT_EQ(bytes[0], 0);
  EXPECT_EQ(bytes[kLarge - 1], 0);
  std::memset(bytes.data(), 0xab, bytes.size());
  EXPECT_EQ(bytes[kLarge - 1], 0xab);
}

TEST(ArrayAllocationTest, LargeArrayIsAdvisedForHugePages) {
  if (!KernelHasHugePages()) GTEST_SKIP() << "no transparent huge pages in this kernel";
  absl::StatusOr<Array> array = ArrayAllocator::AllocateUninitialized(
      DType::kFloat32, {static_cast<int64_t>(kHugePageMinBlockBytes / 4)});
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_TRUE(HugeAdvised(array->data())) << VmFlagsOf(array->data());
}

TEST(ArrayAllocationTest, LoadedLargeArrayIsAdvisedForHugePages) {
  if (!KernelHasHugePages()) GTEST_SKIP() << "no transparent huge pages in this kernel";
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(RandomBytes(DType::kFloat32, {1024, 1100}, 5)));
  ASSERT_TRUE(SaveTree(tmp.Join("tree"), tree).ok());
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("tree"), Tree::AsSaved());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, tree));
  const void* data = loaded->Find("w")->array().data();
  EXPECT_TRUE(HugeAdvised(data)) << VmFlagsOf(data);
}

TEST(ArrayAllocationTest, ABlockBeyondTheKeptBoundIsUnmappedWithItsLastOwner) {
  const uint64_t size = kKeptFreshBytes + kHugePageBytes;
  absl::StatusOr<std::shared_ptr<void>> block =
      AllocateFreshMemory(size, FreshPages::kHugeWhenLarge);
  ASSERT_TRUE(block.ok()) << block.status();
  void* const address = block->get();
  std::shared_ptr<void> other = *block;
  block->reset();
  EXPECT_TRUE(Mapped(address));
  other.reset();
  EXPECT_FALSE(Mapped(address));
}

TEST(ArrayAllocationTest, AFreedLargeBlockServesTheNextOfItsSize) {
  absl::StatusOr<std::shared_ptr<void>> block =
      AllocateFreshMemory(kLarge, FreshPages::kHugeWhenLarge);
  ASSERT_TRUE(block.ok()) << block.status();
  void* const address = block->get();
  std::memset(address, 3, kLarge);
  const uint64_t kept_before = KeptFreshMemoryBytes();
  block->reset();
  EXPECT_TRUE(Mapped(address));
  EXPECT_GT(KeptFreshMemoryBytes(), kept_before);
  EXPECT_LE(KeptFreshMemoryBytes(), kKeptFreshBytes);
  absl::StatusOr<std::shared_ptr<void>> again =
      AllocateFreshMemory(kLarge, FreshPages::kHugeWhenLarge);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->get(), address);
  EXPECT_EQ(KeptFreshMemoryBytes(), kept_before);
}

TEST(ArrayAllocationTest, SharedViewKeepsTheMappingAlive) {
  absl::StatusOr<std::shared_ptr<void>> block =
      AllocateFreshMemory(kLarge, FreshPages::kHugeWhenLarge);
  ASSERT_TRUE(block.ok()) << block.status();
  std::memset(block->get(), 7, kLarge);
  const Array view =
      Array::SharedView(DType::kUInt8, {static_cast<int64_t>(kLarge)}, *block, block->get());
  block->reset();
  ASSERT_TRUE(Mapped(view.data()));
  EXPECT_EQ(view.values<uint8_t>()[kLarge - 1], 7);
}

TEST(ArrayAllocationTest, CopiesOfALargeArrayShareItsMemory) {
  absl::StatusOr<Array> copy;
  const void* data = nullptr;
  {
    absl::StatusOr<Array> array = Array::Allocate(DType::kUInt8, {static_cast<int64_t>(kLarge)});
    ASSERT_TRUE(array.ok()) << array.status();
    array->mutable_values<uint8_t>()[kLarge - 1] = 9;
    data = array->data();
    copy = *array;
  }
  ASSERT_TRUE(Mapped(data));
  EXPECT_EQ(copy->data(), data);
  EXPECT_EQ(copy->values<uint8_t>()[kLarge - 1], 9);
}

TEST(ArrayAllocationTest, SmallBlocksComeFromTheHeap) {
  for (const uint64_t bytes :
       {uint64_t{0}, uint64_t{1}, uint64_t{4096}, kHugePageMinBlockBytes - 1}) {
    absl::StatusOr<std::shared_ptr<void>> block =
        AllocateFreshMemory(bytes, FreshPages::kHugeWhenLarge);
    ASSERT_TRUE(block.ok()) << block.status();
    ASSERT_NE(block->get(), nullptr) << bytes;
    EXPECT_TRUE(Aligned(block->get())) << bytes;
    std::memset(block->get(), 1, bytes);
    EXPECT_FALSE(HugeAdvised(block->get())) << bytes << ": " << VmFlagsOf(block->get());
  }
}

TEST(ArrayAllocationTest, SmallPagesAreNeverAdvised) {
  absl::StatusOr<std::shared_ptr<void>> block = AllocateFreshMemory(kLarge, FreshPages::kSmall);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_TRUE(Aligned(block->get()));
  std::memset(block->get(), 1, kLarge);
  EXPECT_FALSE(HugeAdvised(block->get())) << VmFlagsOf(block->get());
}

TEST(ArrayAllocationTest, ZeroSizeArrayIsUnchanged) {
  absl::StatusOr<Array> array = Array::Allocate(DType::kFloat64, {0, 3});
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->byte_size(), 0u);
  EXPECT_TRUE(array->owns_memory());
  EXPECT_TRUE(array->is_writable());
}

}  // namespace
}  // namespace cairn
