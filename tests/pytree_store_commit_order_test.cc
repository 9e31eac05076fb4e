// The order in which a durable save makes its tree visible: the index may be staged while the
// data files are still being synced, but it is renamed into place only after every data file
// and the data directory are synced, and no temporary index is left behind.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/forwarding_filesystem.h"
#include "cairn/utils/memory_filesystem.h"
#include "gtest/gtest.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using testing::RandomBytes;

// Records, in order, the syncs of files and directories and the renames a save makes.
class SyncRecorder final : public ForwardingFilesystem {
 public:
  using ForwardingFilesystem::ForwardingFilesystem;

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    absl::StatusOr<std::unique_ptr<WritableFile>> file = inner()->NewWritableFile(path);
    if (!file.ok()) return file;
    return std::unique_ptr<WritableFile>(new File(*std::move(file), this));
  }
  absl::Status SyncDir(const std::string& path) override {
    Record(absl::StrCat("sync dir ", path));
    return inner()->SyncDir(path);
  }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    Record(absl::StrCat("rename ", to));
    return inner()->Rename(from, to);
  }

  std::vector<std::string> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  // The position of the first event equal to `event`, or -1.
  int Find(const std::string& event) {
    const std::vector<std::string> all = events();
    const auto it = std::find(all.begin(), all.end(), event);
    return it == all.end() ? -1 : static_cast<int>(it - all.begin());
  }

 private:
  class File final : public ForwardingWritableFile {
   public:
    File(std::unique_ptr<WritableFile> inner, SyncRecorder* recorder)
        : ForwardingWritableFile(std::move(inner)), recorder_(recorder) {}
    absl::Status Sync() override {
      absl::Status status = inner()->Sync();
      recorder_->Record(absl::StrCat("sync file ", path()));
      return status;
    }

   private:
    SyncRecorder* const recorder_;
  };

  void Record(std::string event) {
    absl::MutexLock lock(&mu_);
    events_.push_back(std::move(event));
  }

  absl::Mutex mu_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};

// Enough small arrays for a data file per writer thread (5 MiB in 5,000 arrays).
Tree ManyLeaves() {
  Tree tree = Tree::Dict();
  for (int i = 0; i < 5000; ++i) {
    tree.Set(absl::StrCat("a", i), Tree::FromArray(RandomBytes(DType::kFloat32, {256}, i + 1)));
  }
  return tree;
}

class CommitOrder : public ::testing::TestWithParam<StoreLayout> {};

TEST_P(CommitOrder, TheIndexIsPublishedAfterEveryDataFileAndTheirDirectoryAreSynced) {
  MemoryFilesystem memory;
  ASSERT_TRUE(CreateDirs(memory, "/root").ok());
  SyncRecorder recorder(&memory);
  StoreSaveOptions options;
  options.filesystem = &recorder;
  options.layout = GetParam();
  options.parallelism = 2;
  ASSERT_TRUE(SaveTree("/root/tree", ManyLeaves(), options).ok());

  const int publish = recorder.Find("rename /root/tree/_CAIRN_INDEX");
  ASSERT_GE(publish, 0);
  EXPECT_GT(publish, recorder.Find("sync file /root/tree/_CAIRN_INDEX.tmp"));
  EXPECT_GT(publish, recorder.Find("sync dir /root/tree/_cairn_data"));
  int data_files = 0;
  const std::vector<std::string> events = recorder.events();
  for (int i = 0; i < static_cast<int>(events.size()); ++i) {
    if (absl::StartsWith(events[i], "sync file /root/tree/_cairn_data/")) {
      ++data_files;
      EXPECT_LT(i, publish) << events[i];
    }
  }
  EXPECT_GE(data_files, 2);
  EXPECT_FALSE(*PathExists(memory, "/root/tree/_CAIRN_INDEX.tmp"));
}

INSTANTIATE_TEST_SUITE_P(Layouts, CommitOrder,
                         ::testing::Values(StoreLayout::kAggregated, StoreLayout::kPerLeaf),
                         [](const ::testing::TestParamInfo<StoreLayout>& info) {
                           return std::string(info.param == StoreLayout::kPerLeaf ? "PerLeaf"
                                                                                  : "Aggregated");
                         });

}  // namespace
}  // namespace cairn
