// Corruption of a saved checkpoint, swept over every file it holds: single bits flipped at a
// large sample of positions, and the file cut at a sample of lengths. Each damaged copy is
// loaded whole (every checkpointable and the checkpoint's metadata): the load must return
// exactly what was saved (the damage hit bytes nobody reads, such as alignment padding) or a
// DataLoss error that names the damaged file. Never a crash, and never different values.
//
// CAIRN_CORRUPTION_FLIPS sets how many bits are flipped per file (default 1000).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gtest/gtest.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using testing::RandomBytes;
using testing::TreesEqual;

constexpr char kStep[] = "/run/7";

// A pytree with uncompressed arrays of several dtypes (their chunks padded for alignment), a
// zstd-compressed subtree, scalars of every kind, a JSON document and raw bytes.
Checkpointables SampleItems() {
  Tree tree = testing::SampleTree();
  Tree& zipped = tree.Set("zipped", Tree::Dict());
  zipped.Set("embedding", Tree::FromArray(testing::Iota<int64_t>({64, 16})));
  zipped.Set("noise", Tree::FromArray(RandomBytes(DType::kBFloat16, {32, 8}, 3)));
  tree.Set("big", Tree::FromArray(RandomBytes(DType::kFloat32, {48, 40}, 4)));
  Checkpointables items;
  items.emplace("pytree", std::move(tree));
  items.emplace("config", nlohmann::json{{"lr", 0.125}, {"layers", {4, 4, 2}}, {"name", "demo"}});
  items.emplace("blob", RawBytes{std::string("opaque\0state\xff", 13)});
  return items;
}

CheckpointOptions Options(Filesystem* fs) {
  CheckpointOptions options;
  options.filesystem = fs;
  options.custom_metadata = {{"run", "sweep"}};
  options.metrics = {{"loss", 0.5}};
  options.store_save.chunk_bytes = 4096;  // several chunks per array
  options.store_save.storage_options = [](const KeyPath& path, const Array&) {
    ArrayStorageOptions storage;
    if (absl::StrContains(path.ToString(), "zipped")) storage.compress = true;
    return storage;
  };
  return options;
}

// Every file below `dir`, recursively.
std::vector<std::string> FilesBelow(Filesystem& fs, const std::string& dir) {
  std::vector<std::string> files;
  const std::vector<DirEntry> entries = fs.ListDirEntries(dir).value();
  for (const DirEntry& entry : entries) {
    const std::string path = JoinPath(dir, entry.name);
    if (entry.type == FileInfo::Type::kDirectory) {
      for (std::string& below : FilesBelow(fs, path)) files.push_back(std::move(below));
    } else {
      files.push_back(path);
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// What loading the checkpoint gives: every checkpointable and the metadata, as JSON-comparable
// parts, or the first error.
struct Loaded {
  absl::Status status;
  Checkpointables items;
  nlohmann::json metadata;
};

Loaded LoadEverything(Filesystem& fs) {
  Loaded loaded;
  const CheckpointOptions options = Options(&fs);
  absl::StatusOr<CheckpointMetadata> metadata = CheckpointMetadataOf(kStep, options);
  if (!metadata.ok()) {
    loaded.status = metadata.status();
    return loaded;
  }
  loaded.metadata = metadata->ToJson();
  absl::StatusOr<Checkpointables> items = LoadCheckpointables(kStep, {}, options);
  if (!items.ok()) {
    loaded.status = items.status();
    return loaded;
  }
  loaded.items = *std::move(items);
  return loaded;
}

bool SameItems(const Checkpointables& a, const Checkpointables& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, item] : a) {
    auto other = b.find(name);
    if (other == b.end() || item.index() != other->second.index()) return false;
    if (const Tree* tree = std::get_if<Tree>(&item)) {
      if (!TreesEqual(*tree, std::get<Tree>(other->second))) return false;
    } else if (const nlohmann::json* json = std::get_if<nlohmann::json>(&item)) {
      if (*json != std::get<nlohmann::json>(other->second)) return false;
    } else if (const RawBytes* bytes = std::get_if<RawBytes>(&item)) {
      if (bytes->data != std::get<RawBytes>(other->second).data) return false;
    } else {
      return false;
    }
  }
  return true;
}

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::atoi(value) : fallback;
}

class CorruptionSweep : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(SaveCheckpointables(kStep, SampleItems(), Options(&fs_)).ok());
    original_ = LoadEverything(fs_);
    ASSERT_TRUE(original_.status.ok()) << original_.status;
    ASSERT_TRUE(SameItems(original_.items, SampleItems()));
    files_ = FilesBelow(fs_, kStep);
    ASSERT_GE(files_.size(), 6u);
  }

  // Replaces `path` with `damaged`, loads, files the outcome in a bucket and puts the original
  // back. `what` describes the damage in failure messages.
  void Check(const std::string& path, const std::string& original, const std::string& damaged,
             const std::string& what) {
    ASSERT_TRUE(WriteStringToFile(fs_, path, damaged, /*sync=*/false).ok());
    const Loaded loaded = LoadEverything(fs_);
    if (loaded.status.ok()) {
      const bool same =
          SameItems(loaded.items, original_.items) && loaded.metadata == original_.metadata;
      EXPECT_TRUE(same) << what << " in " << path << " was loaded as different values";
      ++(same ? intact_ : silent_);
    } else {
      const bool named = absl::StrContains(loaded.status.message(), BaseName(path));
      EXPECT_EQ(loaded.status.code(), absl::StatusCode::kDataLoss)
          << what << " in " << path << ": " << loaded.status;
      EXPECT_TRUE(named) << what << " in " << path
                         << ": the error does not name the file: " << loaded.status;
      ++(loaded.status.code() == absl::StatusCode::kDataLoss && named ? detected_ : unclear_);
    }
    ASSERT_TRUE(WriteStringToFile(fs_, path, original, /*sync=*/false).ok());
  }

  void Report(const std::string& sweep) {
    std::cout << sweep << " over " << files_.size() << " files: " << intact_ << " loaded intact, "
              << detected_ << " reported as DataLoss naming the file, " << unclear_
              << " other errors, " << silent_ << " different values" << std::endl;
    EXPECT_EQ(silent_, 0);
    EXPECT_EQ(unclear_, 0);
  }

  MemoryFilesystem fs_;
  Loaded original_;
  std::vector<std::string> files_;
  int intact_ = 0, detected_ = 0, unclear_ = 0, silent_ = 0;
};

TEST_F(CorruptionSweep, EveryFlippedBitIsHarmlessOrReported) {
  const int flips = EnvInt("CAIRN_CORRUPTION_FLIPS", 1000);
  std::mt19937_64 random(20261201);
  for (const std::string& path : files_) {
    const std::string original = ReadFileToString(fs_, path, uint64_t{1} << 30).value();
    if (original.empty()) continue;
    const uint64_t bits = original.size() * 8;
    // Small files have every bit flipped; large ones a uniform sample.
    std::vector<uint64_t> positions;
    if (bits <= static_cast<uint64_t>(flips)) {
      for (uint64_t bit = 0; bit < bits; ++bit) positions.push_back(bit);
    } else {
      for (int i = 0; i < flips; ++i) positions.push_back(random() % bits);
    }
    for (uint64_t bit : positions) {
      std::string damaged = original;
      damaged[bit / 8] = static_cast<char>(damaged[bit / 8] ^ (1 << (bit % 8)));
      Check(path, original, damaged, absl::StrCat("bit ", bit, " flipped"));
      if (HasFatalFailure()) return;
    }
  }
  Report("bit flips");
}

TEST_F(CorruptionSweep, EveryTruncationIsHarmlessOrReported) {
  std::mt19937_64 random(7);
  for (const std::string& path : files_) {
    const std::string original = ReadFileToString(fs_, path, uint64_t{1} << 30).value();
    std::vector<size_t> lengths = {0, 1, original.size() / 2};
    if (original.size() > 1) lengths.push_back(original.size() - 1);
    for (int i = 0; i < 16 && original.size() > 2; ++i) {
      lengths.push_back(random() % original.size());
    }
    for (size_t length : lengths) {
      if (length >= original.size()) continue;
      Check(path, original, original.substr(0, length), absl::StrCat("cut at ", length));
      if (HasFatalFailure()) return;
    }
  }
  Report("truncations");
}

}  // namespace
}  // namespace cairn
