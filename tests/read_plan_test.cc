// The memory of a load's read plan is kept for the next load, within a bound, and loads running
// at once each get a plan of their own.
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/storage/internal/array_read.h"
#include "cairn/storage/pytree_store.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace cairn {
namespace {

TEST(ReadPlan, AGivenBackPlanServesTheNextWithItsRoomAndNoReads) {
  GiveBackReadPlan(TakeReadPlan(0));  // whatever an earlier test kept is now this one's
  ReadPlan plan = TakeReadPlan(5000);
  ASSERT_GE(plan.reads.capacity(), 5000u);
  plan.targets.push_back(ReadTarget{nullptr, DType::kFloat32, {2}, {0}, "a/b"});
  plan.reads.push_back(ChunkRead{nullptr, nullptr, 0, 0});
  const ChunkRead* const memory = plan.reads.data();
  GiveBackReadPlan(std::move(plan));

  const ReadPlan next = TakeReadPlan(10);
  EXPECT_EQ(next.reads.data(), memory);
  EXPECT_GE(next.reads.capacity(), 5000u);
  EXPECT_TRUE(next.reads.empty());
  EXPECT_TRUE(next.targets.empty());
  // Taken, it is no longer kept: a second load at the same time gets a plan of its own.
  EXPECT_NE(TakeReadPlan(10).reads.data(), memory);
}

TEST(ReadPlan, APlanBeyondTheBoundIsFreed) {
  GiveBackReadPlan(TakeReadPlan(0));
  ReadPlan huge = TakeReadPlan((uint64_t{64} << 20) / sizeof(ChunkRead) + 1);
  GiveBackReadPlan(std::move(huge));
  EXPECT_LT(TakeReadPlan(0).reads.capacity() * sizeof(ChunkRead), uint64_t{64} << 20);
}

TEST(ReadPlan, LoadsAtOnceReadTheirOwnArrays) {
  testing::TempDir tmp;
  std::vector<std::string> keys;
  std::vector<Tree> values;
  for (int i = 0; i < 300; ++i) {
    keys.push_back(absl::StrCat("k", i));
    values.push_back(Tree::FromArray(Array::FromValues<int32_t>({i, -i, 7 * i})));
  }
  const Tree tree = Tree::DictFrom(std::move(keys), std::move(values)).value();
  ASSERT_TRUE(SaveTree(tmp.Join("t"), tree).ok());

  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("t"));
        if (!loaded.ok()) {
          ++failures[t];
          continue;
        }
        for (int i = 0; i < 300; ++i) {
          const Tree* leaf = loaded->Find(absl::StrCat("k", i));
          if (leaf == nullptr || leaf->array().values<int32_t>()[2] != 7 * i) ++failures[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace cairn
