#include "cairn/utils/thread_pool.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

TEST(ThreadPool, RunsEveryScheduledTaskBeforeDestruction) {
  std::atomic<int> count{0};
  {
    ThreadPool pool(3);
    for (int i = 0; i < 100; ++i) pool.Schedule([&] { count.fetch_add(1); });
  }
  EXPECT_EQ(count.load(), 100);
}

TEST(ParallelFor, VisitsEveryIndexOnce) {
  ThreadPool pool(2);
  std::vector<std::atomic<int>> hits(1000);
  ASSERT_TRUE(ParallelFor(&pool, hits.size(), 3, [&](size_t i) {
                hits[i].fetch_add(1);
                return absl::OkStatus();
              }).ok());
  for (const auto& h : hits) EXPECT_EQ(h.load(), 1);
}

TEST(ParallelFor, ReturnsAnErrorAndStopsStartingNewItems) {
  ThreadPool pool(2);
  std::atomic<int> ran{0};
  absl::Status status = ParallelFor(&pool, 100000, 2, [&](size_t i) {
    ran.fetch_add(1);
    return i == 10 ? absl::DataLossError("bad item") : absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_LT(ran.load(), 100000);
}

TEST(ParallelFor, CompletesWhenEveryWorkerIsBlocked) {
  ThreadPool pool(1);
  absl::Notification release;
  pool.Schedule([&] { release.WaitForNotification(); });
  // The only worker is busy: the caller must do all the work itself.
  std::atomic<int> count{0};
  ASSERT_TRUE(ParallelFor(&pool, 50, 4, [&](size_t) {
                count.fetch_add(1);
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(count.load(), 50);
  release.Notify();
}

TEST(ParallelFor, NestedInsidePoolTasks) {
  ThreadPool pool(2);
  std::atomic<int> count{0};
  ASSERT_TRUE(ParallelFor(&pool, 8, 2, [&](size_t) {
                return ParallelFor(&pool, 8, 2, [&](size_t) {
                  count.fetch_add(1);
                  return absl::OkStatus();
                });
              }).ok());
  EXPECT_EQ(count.load(), 64);
}

}  // namespace
}  // namespace cairn
