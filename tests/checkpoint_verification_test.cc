// Verifying a checkpoint: an intact one passes having read every file and array, and each kind
// of damage (a chunk's bytes, a listed file's bytes or size, a missing file) is named.
#include "cairn/steps/checkpoint_verification.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/checkpointable.h"
#include "gtest/gtest.h"
#include "tests/support/orbax_pytree_writer.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;
using testing::Iota;
using testing::TempDir;

class VerifyCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.Join("7");
    Tree tree = Tree::Dict();
    tree.Set("w", Tree::FromArray(Iota<float>({256, 64})));
    tree.Set("b", Tree::FromArray(Iota<int32_t>({1000})));
    tree.Set("step", Tree::Int(7));
    Checkpointables items;
    items["pytree"] = std::move(tree);
    items["config"] = nlohmann::json{{"lr", 0.1}, {"name", "run"}};
    ASSERT_TRUE(SaveCheckpointables(dir_, items).ok());
  }

  // The largest file under the pytree: its data file.
  std::string DataFile() const {
    std::string largest;
    uintmax_t size = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir_ + "/pytree")) {
      if (entry.is_regular_file() && entry.file_size() > size) {
        size = entry.file_size();
        largest = entry.path().string();
      }
    }
    return largest;
  }

  static void FlipByte(const std::string& path, uintmax_t offset) {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(static_cast<std::streamoff>(offset));
    char byte = 0;
    file.read(&byte, 1);
    byte ^= 0x5a;
    file.seekp(static_cast<std::streamoff>(offset));
    file.write(&byte, 1);
  }

  TempDir tmp_;
  std::string dir_;
};

TEST_F(VerifyCheckpointTest, AnIntactCheckpointReadsEveryFileAndLeaf) {
  absl::StatusOr<VerificationReport> report = VerifyCheckpoint(dir_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->intact()) << report->damage[0].problem;
  EXPECT_TRUE(report->has_listing);
  EXPECT_GT(report->files_checked, 0u);
  EXPECT_EQ(report->leaves_checked, 3u);
  EXPECT_GE(report->bytes_read, 256u * 64u * 4u + 1000u * 4u);
}

TEST_F(VerifyCheckpointTest, AFlippedDataByteNamesTheDataFileAndArray) {
  const std::string data = DataFile();
  ASSERT_FALSE(data.empty());
  FlipByte(data, fs::file_size(data) / 2);
  absl::StatusOr<VerificationReport> report = VerifyCheckpoint(dir_);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->damage.size(), 1u);
  EXPECT_TRUE(absl::StrContains(report->damage[0].problem, fs::path(data).filename().string()))
      << report->damage[0].problem;
  EXPECT_EQ(report->damage[0].path, fs::relative(data, dir_).string());
  EXPECT_TRUE(absl::StrContains(report->damage[0].problem, "of w ")) << report->damage[0].problem;
}

TEST_F(VerifyCheckpointTest, AFlippedByteOfAListedFileNamesIt) {
  std::string listed;
  for (const auto& entry : fs::recursive_directory_iterator(dir_ + "/config")) {
    if (entry.is_regular_file()) listed = entry.path().string();
  }
  ASSERT_FALSE(listed.empty());
  FlipByte(listed, 1);
  absl::StatusOr<VerificationReport> report = VerifyCheckpoint(dir_);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_FALSE(report->intact());
  const std::string relative = fs::relative(listed, dir_).string();
  bool named = false;
  for (const Damage& damage : report->damage) named |= damage.path == relative;
  EXPECT_TRUE(named) << report->damage[0].path;
}

TEST_F(VerifyCheckpointTest, AMissingListedFileIsDamage) {
  ASSERT_TRUE(fs::remove(dir_ + "/_CHECKPOINT_METADATA"));
  absl::StatusOr<VerificationReport> report = VerifyCheckpoint(dir_);
  ASSERT_TRUE(report.ok()) << report.status();
  bool named = false;
  for (const Damage& damage : report->damage) named |= damage.path == "_CHECKPOINT_METADATA";
  EXPECT_TRUE(named);
}

TEST_F(VerifyCheckpointTest, ATruncatedDataFileIsDamage) {
  const std::string data = DataFile();
  fs::resize_file(data, fs::file_size(data) / 2);
  absl::StatusOr<VerificationReport> report = VerifyCheckpoint(dir_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->intact());
}

// An Orbax tree carries no checksums: its arrays are read back, a batch at a time.
class VerifyOrbaxTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.Join("orbax");
    orbax_test::OrbaxPyTreeWriter writer;
    writer.AddArray({orbax_test::K("a")}, Iota<float>({64, 8}), {16, 8});
    writer.AddArray({orbax_test::K("b")}, Iota<int32_t>({100}));
    ASSERT_TRUE(writer.Write(*Filesystem::Default(), dir_).ok());
  }
  TempDir tmp_;
  std::string dir_;
};

TEST_F(VerifyOrbaxTreeTest, ReadsBackEveryArray) {
  absl::StatusOr<VerificationReport> report = VerifyCheckpoint(dir_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->intact()) << report->damage[0].problem;
  EXPECT_FALSE(report->has_listing);
  EXPECT_EQ(report->leaves_checked, 2u);
}

TEST_F(VerifyOrbaxTreeTest, SmallBatchesStillReadEveryLeaf) {
  VerifyOptions options;
  options.batch_bytes = 1;
  absl::StatusOr<VerificationReport> report = VerifyCheckpoint(dir_, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->intact());
  EXPECT_EQ(report->leaves_checked, 2u);
}

TEST_F(VerifyOrbaxTreeTest, AMissingChunkFileIsDamageNamingTheArray) {
  fs::remove_all(dir_ + "/b");
  absl::StatusOr<VerificationReport> report = VerifyCheckpoint(dir_);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->damage.size(), 1u);
  EXPECT_EQ(report->damage[0].path, "b");
}

TEST_F(VerifyCheckpointTest, ProgressEndsAtTheTotal) {
  VerifyOptions options;
  VerifyProgress last;
  int calls = 0;
  options.progress = [&](const VerifyProgress& progress) {
    EXPECT_GE(progress.bytes_done, last.bytes_done);
    last = progress;
    ++calls;
  };
  absl::StatusOr<VerificationReport> report = VerifyCheckpoint(dir_, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GT(calls, 1);
  EXPECT_GT(last.bytes_total, 0u);
  EXPECT_EQ(last.bytes_done, last.bytes_total);
}

TEST_F(VerifyCheckpointTest, AMissingDirectoryIsAnError) {
  absl::StatusOr<VerificationReport> report = VerifyCheckpoint(tmp_.Join("absent"));
  EXPECT_TRUE(absl::IsNotFound(report.status())) << report.status();
}

}  // namespace
}  // namespace cairn
