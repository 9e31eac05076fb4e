// The commit marker's own integrity: damage anywhere in a cairn marker, its first line included,
// is reported; markers of the previous cairn version still load verified; Orbax's one-line
// marker loads unverified.
#include <string>

#include "absl/strings/str_cat.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/utils/checksum.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

constexpr char kStep[] = "/run/3";
constexpr char kMarker[] = "/run/3/commit_success.txt";
constexpr char kConfig[] = "/run/3/config/data.json";

class CommitMarkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Checkpointables items;
    items.emplace("config", nlohmann::json{{"version", 1}});
    ASSERT_TRUE(SaveCheckpointables(kStep, items, Options()).ok());
    marker_ = ReadFileToString(fs_, kMarker, 1 << 20).value();
  }

  CheckpointOptions Options() {
    CheckpointOptions options;
    options.filesystem = &fs_;
    return options;
  }

  void WriteMarker(const std::string& contents) {
    ASSERT_TRUE(WriteStringToFile(fs_, kMarker, contents, /*sync=*/false).ok());
  }

  // The config's version as loaded, or the load's error.
  absl::StatusOr<int> LoadedVersion() {
    absl::StatusOr<Checkpointables> loaded = LoadCheckpointables(kStep, {}, Options());
    if (!loaded.ok()) return loaded.status();
    return std::get<nlohmann::json>(loaded->at("config"))["version"].get<int>();
  }

  // The marker as the previous cairn version wrote it: its checksum covers the lines from
  // "files" on, not the first line.
  std::string OldStyleMarker() const {
    const size_t first_end = marker_.find('\n');
    const size_t checksum_at = marker_.rfind("checksum ");
    const std::string listing = marker_.substr(first_end + 1, checksum_at - first_end - 1);
    return absl::StrCat(marker_.substr(0, first_end + 1), listing, "checksum ",
                        absl::Hex(Checksum64(listing), absl::kZeroPad16), "\n");
  }

  // Replaces the listed config with one of the same size that still parses.
  void ChangeConfigQuietly() {
    ASSERT_TRUE(WriteStringToFile(fs_, kConfig, R"({"version":2})", /*sync=*/false).ok());
  }

  MemoryFilesystem fs_;
  std::string marker_;
};

TEST_F(CommitMarkerTest, FlippedBitInEveryByteOfTheFirstLineIsDataLoss) {
  const size_t first_end = marker_.find('\n');
  ASSERT_EQ(marker_.substr(0, first_end), "committed by cairn");
  for (size_t byte = 0; byte <= first_end; ++byte) {  // the line's newline too
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = marker_;
      damaged[byte] = static_cast<char>(damaged[byte] ^ (1 << bit));
      WriteMarker(damaged);
      const absl::StatusOr<int> version = LoadedVersion();
      EXPECT_EQ(version.status().code(), absl::StatusCode::kDataLoss)
          << "byte " << byte << " bit " << bit << ": " << version.status();
      EXPECT_THAT(version.status().message(), HasSubstr("commit_success.txt"));
    }
  }
}

TEST_F(CommitMarkerTest, ItsChecksumCoversTheFirstLine) {
  const size_t checksum_at = marker_.rfind("checksum ");
  EXPECT_EQ(
      marker_.substr(checksum_at),
      absl::StrCat("checksum ",
                   absl::Hex(Checksum64(marker_.substr(0, checksum_at)), absl::kZeroPad16), "\n"));
}

TEST_F(CommitMarkerTest, PreviousVersionsMarkerLoadsVerified) {
  WriteMarker(OldStyleMarker());
  EXPECT_EQ(LoadedVersion().value(), 1);
  ChangeConfigQuietly();
  const absl::StatusOr<int> version = LoadedVersion();
  EXPECT_EQ(version.status().code(), absl::StatusCode::kDataLoss) << version.status();
  EXPECT_THAT(version.status().message(), HasSubstr("data.json"));
}

TEST_F(CommitMarkerTest, PreviousVersionsMarkerWithAnotherFirstLineIsDataLoss) {
  std::string old_style = OldStyleMarker();
  old_style[0] = 'C';
  WriteMarker(old_style);
  EXPECT_EQ(LoadedVersion().status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CommitMarkerTest, OrbaxMarkerLoadsUnverified) {
  WriteMarker(absl::StrCat("Checkpoint commit was successful to ", kStep));
  ChangeConfigQuietly();
  EXPECT_EQ(LoadedVersion().value(), 2);
}

TEST_F(CommitMarkerTest, EmptyMarkerLoadsUnverified) {
  WriteMarker("");
  ChangeConfigQuietly();
  EXPECT_EQ(LoadedVersion().value(), 2);
}

TEST_F(CommitMarkerTest, MarkerCutAfterItsListingIsDataLoss) {
  WriteMarker(marker_.substr(0, marker_.rfind("checksum ")));
  EXPECT_EQ(LoadedVersion().status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace cairn
