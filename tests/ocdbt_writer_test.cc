// The OCDBT writer, read back through OcdbtReader: empty and small databases, the inline limit,
// tall trees, long shared prefixes, many data files, concurrent puts, refused keys, failures of
// the filesystem (no manifest after any of them), Orbax's configuration and the merged
// multi-process root.
#include "cairn/storage/ocdbt/ocdbt_writer.h"

#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cairn/storage/ocdbt/ocdbt_merged_root.h"
#include "cairn/storage/ocdbt/ocdbt_reader.h"
#include "cairn/utils/fault_injection_filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/ocdbt_golden.h"
#include "tests/support/temp_dir.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kDir[] = "/db";

// A value of `size` bytes that differs from key to key.
std::string ValueFor(const std::string& key, size_t size) {
  std::string value(size, '\0');
  size_t h = std::hash<std::string>()(key);
  for (size_t i = 0; i < size; ++i) value[i] = static_cast<char>((h >> (i % 7 * 8)) + i);
  return value;
}

class OcdbtWriterTest : public ::testing::Test {
 protected:
  OcdbtWriterOptions Options(Filesystem* fs = nullptr) {
    OcdbtWriterOptions options;
    options.filesystem = fs != nullptr ? fs : &fs_;
    return options;
  }

  // Writes `kvs` into `dir` and finishes the database.
  void Write(const std::map<std::string, std::string>& kvs, OcdbtWriterOptions options,
             const std::string& dir = kDir) {
    auto writer = OcdbtWriter::Create(dir, options);
    ASSERT_TRUE(writer.ok()) << writer.status();
    for (const auto& [key, value] : kvs) ASSERT_TRUE((*writer)->Put(key, value).ok()) << key;
    ASSERT_TRUE((*writer)->Finish().ok());
  }

  std::unique_ptr<OcdbtReader> Open(const std::string& dir = kDir, Filesystem* fs = nullptr) {
    OcdbtReaderOptions options;
    options.filesystem = fs != nullptr ? fs : &fs_;
    auto reader = OcdbtReader::Open(dir, options);
    EXPECT_TRUE(reader.ok()) << reader.status();
    return reader.ok() ? *std::move(reader) : nullptr;
  }

  // Every key of `kvs` reads back its value and there are no others.
  void ExpectContents(const std::map<std::string, std::string>& kvs, const std::string& dir = kDir,
                      Filesystem* fs = nullptr) {
    auto reader = Open(dir, fs);
    ASSERT_NE(reader, nullptr);
    auto keys = reader->ListKeys();
    ASSERT_TRUE(keys.ok()) << keys.status();
    ASSERT_THAT(*keys, SizeIs(kvs.size()));
    size_t i = 0;
    for (const auto& [key, value] : kvs) {
      ASSERT_EQ((*keys)[i++], key);
      auto read = reader->Read(key);
      ASSERT_TRUE(read.ok()) << key << ": " << read.status();
      ASSERT_EQ(*read, value) << key;
    }
    EXPECT_EQ(reader->version().num_keys, kvs.size());
  }

  bool HasManifest(Filesystem& fs, const std::string& dir = kDir) {
    return PathExists(fs, JoinPath(dir, "manifest.ocdbt")).value_or(true);
  }

  MemoryFilesystem fs_;
};

TEST_F(OcdbtWriterTest, EmptyDatabaseOpensWithNoKeys) {
  Write({}, Options());
  auto reader = Open();
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->version().empty);
  EXPECT_EQ(reader->version().generation, 1u);
  auto keys = reader->ListKeys();
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());
}

TEST_F(OcdbtWriterTest, OneKeyReadsBack) {
  Write({{"a/zarr.json", "{}"}}, Options());
  ExpectContents({{"a/zarr.json", "{}"}});
}

TEST_F(OcdbtWriterTest, ValuesUpToTheInlineLimitStayInline) {
  const std::map<std::string, std::string> kvs = {
      {"at", ValueFor("at", 1024)}, {"empty", ""}, {"past", ValueFor("past", 1025)}};
  Write(kvs, Options());
  ExpectContents(kvs);
  auto reader = Open();
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->version().num_indirect_value_bytes, 1025u);
}

TEST_F(OcdbtWriterTest, CommitTimeIsRecorded) {
  OcdbtWriterOptions options = Options();
  options.commit_time_nanos = 1234567890123456789u;
  Write({{"k", "v"}}, options);
  auto reader = Open();
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->version().commit_time_nanos, 1234567890123456789u);
}

TEST_F(OcdbtWriterTest, HundredThousandKeysMakeATreeWithInteriorNodes) {
  std::map<std::string, std::string> kvs;
  for (int i = 0; i < 100000; ++i) {
    const std::string key = absl::StrFormat("param%04d/c/%d", i / 50, i % 50);
    kvs[key] = ValueFor(key, i % 100 == 0 ? 2000 : i % 40);
  }
  Write(kvs, Options());
  ExpectContents(kvs);
  auto reader = Open();
  ASSERT_NE(reader, nullptr);
  EXPECT_GE(reader->version().root_height, 1);
  auto some = reader->ListKeys("param0123/");
  ASSERT_TRUE(some.ok());
  EXPECT_THAT(*some, SizeIs(50));
}

TEST_F(OcdbtWriterTest, LongSharedPrefixesReadBack) {
  const std::string prefix(3000, 'p');
  std::map<std::string, std::string> kvs;
  for (int i = 0; i < 300; ++i) {
    const std::string key = absl::StrCat(prefix, i % 3, "/", std::string(i % 5, 'x'), i);
    kvs[key] = ValueFor(key, i % 2 == 0 ? 10 : 1500);
  }
  OcdbtWriterOptions options = Options();
  options.target_node_bytes = 4096;  // a node's first key alone takes 3000: several leaves
  Write(kvs, options);
  ExpectContents(kvs);
  auto reader = Open();
  ASSERT_NE(reader, nullptr);
  EXPECT_GE(reader->version().root_height, 1);
  auto ones = reader->ListKeys(prefix + "1/");
  ASSERT_TRUE(ones.ok());
  EXPECT_THAT(*ones, SizeIs(100));
}

TEST_F(OcdbtWriterTest, SmallDataFileTargetGivesManyDataFiles) {
  std::map<std::string, std::string> kvs;
  for (int i = 0; i < 60; ++i) {
    const std::string key = absl::StrCat("v", i);
    kvs[key] = ValueFor(key, 2000);
  }
  OcdbtWriterOptions options = Options();
  options.target_data_file_bytes = 4096;
  Write(kvs, options);
  ExpectContents(kvs);
  auto files = fs_.ListDir(JoinPath(kDir, "d"));
  ASSERT_TRUE(files.ok());
  EXPECT_GE(files->size(), 30u);
  for (const std::string& name : *files) {
    EXPECT_EQ(name.size(), 32u) << name;
    EXPECT_EQ(name.find_first_not_of("0123456789abcdef"), std::string::npos) << name;
  }
}

TEST_F(OcdbtWriterTest, ConcurrentPutsFromEightThreadsAllReadBack) {
  auto writer = OcdbtWriter::Create(kDir, Options());
  ASSERT_TRUE(writer.ok());
  std::map<std::string, std::string> kvs;
  for (int t = 0; t < 8; ++t) {
    for (int i = 0; i < 300; ++i) {
      const std::string key = absl::StrFormat("t%d/k%03d", t, i);
      kvs[key] = ValueFor(key, i % 3 == 0 ? 5000 + i : i);
    }
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const std::string mine = absl::StrFormat("t%d/", t);
      for (auto it = kvs.lower_bound(mine); it != kvs.end() && it->first.rfind(mine, 0) == 0;
           ++it) {
        EXPECT_TRUE((*writer)->Put(it->first, it->second).ok()) << it->first;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE((*writer)->Finish().ok());
  ExpectContents(kvs);
}

TEST_F(OcdbtWriterTest, KeyPutTwiceIsInvalidArgument) {
  auto writer = OcdbtWriter::Create(kDir, Options());
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Put("k", "small").ok());
  absl::Status again = (*writer)->Put("k", std::string(5000, 'x'));
  EXPECT_EQ(again.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(again.message(), HasSubstr("\"k\""));
  ASSERT_TRUE((*writer)->Finish().ok());
  ExpectContents({{"k", "small"}});
}

TEST_F(OcdbtWriterTest, PutAfterFinishIsFailedPrecondition) {
  auto writer = OcdbtWriter::Create(kDir, Options());
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  EXPECT_EQ((*writer)->Put("k", "v").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*writer)->Finish().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(OcdbtWriterTest, ExistingDatabaseIsNotOverwritten) {
  Write({{"k", "v"}}, Options());
  auto again = OcdbtWriter::Create(kDir, Options());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  ExpectContents({{"k", "v"}});
}

TEST_F(OcdbtWriterTest, FailedValueWriteNamesTheFileAndLeavesNoManifest) {
  FaultInjectionFilesystem faulty(&fs_);
  auto writer = OcdbtWriter::Create(kDir, Options(&faulty));
  ASSERT_TRUE(writer.ok());
  faulty.FailAll(FaultOp::kWrite, IoError());
  absl::Status put = (*writer)->Put("big", std::string(5000, 'x'));
  EXPECT_EQ(put.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(put.message(), HasSubstr("/db/d/"));
  faulty.Clear();
  EXPECT_EQ((*writer)->Finish().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(HasManifest(fs_));
}

TEST_F(OcdbtWriterTest, FullDiskIsResourceExhaustedAndLeavesNoManifest) {
  FaultInjectionFilesystem faulty(&fs_);
  auto writer = OcdbtWriter::Create(kDir, Options(&faulty));
  ASSERT_TRUE(writer.ok());
  faulty.LimitFreeSpace(10000);
  ASSERT_TRUE((*writer)->Put("a", std::string(6000, 'a')).ok());
  absl::Status put = (*writer)->Put("b", std::string(6000, 'b'));
  EXPECT_EQ(put.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(put.message(), HasSubstr("OCDBT data file /db/d/"));
  EXPECT_EQ((*writer)->Finish().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(HasManifest(fs_));
}

TEST_F(OcdbtWriterTest, FullDiskAtTheNodesFailsFinishWithoutManifest) {
  FaultInjectionFilesystem faulty(&fs_);
  auto writer = OcdbtWriter::Create(kDir, Options(&faulty));
  ASSERT_TRUE(writer.ok());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE((*writer)->Put(absl::StrCat("k", i), "v").ok());
  faulty.LimitFreeSpace(0);
  absl::Status finish = (*writer)->Finish();
  EXPECT_EQ(finish.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(finish.message(), HasSubstr("/db/d/"));
  EXPECT_FALSE(HasManifest(fs_));
}

TEST_F(OcdbtWriterTest, FailedSyncNamesTheFileAndLeavesNoManifest) {
  FaultInjectionFilesystem faulty(&fs_);
  auto writer = OcdbtWriter::Create(kDir, Options(&faulty));
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Put("big", std::string(5000, 'x')).ok());
  faulty.FailNth(FaultOp::kSync, 0, IoError());
  absl::Status finish = (*writer)->Finish();
  EXPECT_EQ(finish.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(finish.message(), HasSubstr("syncing OCDBT data file /db/d/"));
  EXPECT_FALSE(HasManifest(fs_));
}

TEST_F(OcdbtWriterTest, FailedManifestRenameLeavesNoManifest) {
  FaultInjectionFilesystem faulty(&fs_);
  auto writer = OcdbtWriter::Create(kDir, Options(&faulty));
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Put("k", "v").ok());
  faulty.FailAll(FaultOp::kRename, IoError());
  absl::Status finish = (*writer)->Finish();
  EXPECT_EQ(finish.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(finish.message(), HasSubstr("/db/manifest.ocdbt"));
  EXPECT_FALSE(HasManifest(fs_));
}

TEST_F(OcdbtWriterTest, EveryFailedMutationOfASaveLeavesNoManifest) {
  // Each mutation of one write in turn fails: the database is either complete or has no
  // manifest, never a manifest naming what is not there.
  for (int n = 0;; ++n) {
    SCOPED_TRACE(n);
    MemoryFilesystem fs;
    FaultInjectionFilesystem faulty(&fs);
    faulty.FailNthMutation(n, IoError());
    absl::Status status = [&]() -> absl::Status {
      auto writer = OcdbtWriter::Create(kDir, Options(&faulty));
      if (!writer.ok()) return writer.status();
      for (int i = 0; i < 20; ++i) {
        absl::Status put = (*writer)->Put(absl::StrCat("k", i), std::string(i * 200, 'v'));
        if (!put.ok()) return put;
      }
      return (*writer)->Finish();
    }();
    if (status.ok()) {
      EXPECT_GT(n, 0);
      break;
    }
    EXPECT_FALSE(HasManifest(fs)) << status;
  }
}

TEST(OcdbtWriterConfigTest, OrbaxConfigIsTheGoldenOneWithAFreshUuid) {
  std::vector<std::string> dirs = ocdbt_test::GoldenDatabases();
  if (dirs.empty()) GTEST_SKIP() << "no ../shared/orbax-golden beside the checkout";
  auto golden = OcdbtReader::Open(dirs.front());
  ASSERT_TRUE(golden.ok()) << golden.status();
  OcdbtConfig ours = OrbaxOcdbtConfig();
  OcdbtConfig other = OrbaxOcdbtConfig();
  EXPECT_NE(ours.uuid, other.uuid);
  ours.uuid = (*golden)->config().uuid;
  EXPECT_EQ(ours, (*golden)->config());
}

class OcdbtMergedRootTest : public OcdbtWriterTest {};

TEST_F(OcdbtMergedRootTest, InterleavedProcessDatabasesMergeUnderTheRoot) {
  std::map<std::string, std::string> all;
  std::vector<std::string> subdirs;
  for (int p = 0; p < 3; ++p) {
    std::map<std::string, std::string> mine;
    for (int i = p; i < 600; i += 3) {
      const std::string key = absl::StrFormat("param%03d/c/0", i);
      mine[key] = ValueFor(key, i % 4 == 0 ? 3000 : 20);
    }
    subdirs.push_back(absl::StrCat("ocdbt.process_", p));
    Write(mine, Options(), JoinPath(kDir, subdirs.back()));
    all.insert(mine.begin(), mine.end());
  }
  OcdbtWriterOptions options = Options();
  options.target_node_bytes = 4096;  // several root-level leaves
  ASSERT_TRUE(WriteMergedOcdbtRoot(kDir, subdirs, options).ok());
  ExpectContents(all);
  auto reader = Open();
  ASSERT_NE(reader, nullptr);
  EXPECT_GE(reader->version().root_height, 1);
  // The root's own data files hold only nodes: the values stay where the processes wrote them.
  EXPECT_EQ(reader->version().num_indirect_value_bytes, 150u * 3000);
}

TEST_F(OcdbtMergedRootTest, KeyInTwoProcessesIsInvalidArgumentNamingBoth) {
  Write({{"a", "1"}, {"b", "2"}}, Options(), "/db/ocdbt.process_0");
  Write({{"b", "3"}}, Options(), "/db/ocdbt.process_1");
  absl::Status status =
      WriteMergedOcdbtRoot(kDir, {"ocdbt.process_0", "ocdbt.process_1"}, Options());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("\"b\" is in both ocdbt.process_0 and ocdbt.process_1"));
  EXPECT_FALSE(HasManifest(fs_));
}

TEST_F(OcdbtMergedRootTest, MissingProcessDatabaseIsNotFoundNamingIt) {
  absl::Status status = WriteMergedOcdbtRoot(kDir, {"ocdbt.process_0"}, Options());
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("ocdbt.process_0/manifest.ocdbt"));
}

TEST_F(OcdbtMergedRootTest, SubdirOutsideTheRootIsInvalidArgument) {
  EXPECT_EQ(WriteMergedOcdbtRoot(kDir, {"../elsewhere"}, Options()).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(OcdbtMergedRootTest, RootOverAGoldenProcessDatabaseReadsAsOrbaxsRoot) {
  if (ocdbt_test::GoldenRoot().empty()) {
    GTEST_SKIP() << "no ../shared/orbax-golden beside the checkout";
  }
  const std::string golden = ocdbt_test::PristineState("v1_checkpoints/composite_checkpoint");
  testing::TempDir temp;
  std::filesystem::copy(golden + "/ocdbt.process_0", temp.Join("ocdbt.process_0"),
                        std::filesystem::copy_options::recursive);
  ASSERT_TRUE(
      WriteMergedOcdbtRoot(temp.path(), {"ocdbt.process_0"}, Options(Filesystem::Default())).ok());
  auto ours = Open(temp.path(), Filesystem::Default());
  auto theirs = Open(golden, Filesystem::Default());
  ASSERT_NE(ours, nullptr);
  ASSERT_NE(theirs, nullptr);
  auto keys = theirs->ListKeys();
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(ours->ListKeys().value_or(std::vector<std::string>{}), *keys);
  for (const std::string& key : *keys) {
    EXPECT_EQ(ours->Read(key).value_or("<missing>"), theirs->Read(key).value_or("")) << key;
  }
  EXPECT_EQ(ours->version().num_indirect_value_bytes, theirs->version().num_indirect_value_bytes);
}

}  // namespace
}  // namespace cairn
