// One suite run against every Filesystem: POSIX (in a temporary directory), in-memory, and the
// fault-injecting wrapper with nothing armed. Each must behave like the others.
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>

#include "cairn/utils/fault_injection_filesystem.h"
#include "cairn/utils/filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace cairn {
namespace {

using ::testing::UnorderedElementsAre;

struct Backend {
  std::string name;
  std::function<Filesystem*(std::unique_ptr<testing::TempDir>&, std::unique_ptr<Filesystem>&,
                            std::unique_ptr<Filesystem>&, std::string*)>
      make;
};

class FilesystemConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { fs_ = GetParam().make(tmp_, owned_, inner_, &root_); }

  std::string P(const std::string& name) const { return JoinPath(root_, name); }
  Filesystem& fs() { return *fs_; }

  std::unique_ptr<testing::TempDir> tmp_;
  std::unique_ptr<Filesystem> inner_;
  std::unique_ptr<Filesystem> owned_;
  Filesystem* fs_ = nullptr;
  std::string root_;
};

TEST_P(FilesystemConformance, WriteAppendAndReadBack) {
  auto file = fs().NewWritableFile(P("f"));
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE((*file)->Append("hello ").ok());
  ASSERT_TRUE((*file)->Append("world").ok());
  ASSERT_TRUE((*file)->WriteAt(0, "J").ok());
  ASSERT_TRUE((*file)->WriteAt(14, "!").ok());  // past the end: a zero-filled gap
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Close().ok());
  auto contents = ReadFileToString(fs(), P("f"), 100);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(*contents, std::string("Jello world\0\0\0!", 15));
}

TEST_P(FilesystemConformance, ReadAtPastTheEndIsShort) {
  ASSERT_TRUE(WriteStringToFile(fs(), P("f"), "abcdef", true).ok());
  auto file = fs().NewReadableFile(P("f"));
  ASSERT_TRUE(file.ok());
  char buffer[16];
  EXPECT_EQ(*(*file)->ReadAt(4, 10, buffer), 2u);
  EXPECT_EQ(std::string(buffer, 2), "ef");
  EXPECT_EQ(*(*file)->ReadAt(100, 10, buffer), 0u);
  EXPECT_EQ(*(*file)->Size(), 6u);
}

TEST_P(FilesystemConformance, StatDescribesFilesAndDirectories) {
  ASSERT_TRUE(WriteStringToFile(fs(), P("f"), "abc", false).ok());
  ASSERT_TRUE(fs().CreateDir(P("d")).ok());
  EXPECT_TRUE(fs().Stat(P("f"))->is_file());
  EXPECT_EQ(fs().Stat(P("f"))->size, 3u);
  EXPECT_TRUE(fs().Stat(P("d"))->is_directory());
  EXPECT_EQ(fs().Stat(P("missing")).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(FilesystemConformance, ListDir) {
  ASSERT_TRUE(WriteStringToFile(fs(), P("a"), "", false).ok());
  ASSERT_TRUE(fs().CreateDir(P("b")).ok());
  EXPECT_THAT(*fs().ListDir(root_), UnorderedElementsAre("a", "b"));
  EXPECT_FALSE(fs().ListDir(P("a")).ok());
}

TEST_P(FilesystemConformance, CreateDirErrors) {
  ASSERT_TRUE(fs().CreateDir(P("d")).ok());
  EXPECT_EQ(fs().CreateDir(P("d")).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(fs().CreateDir(P("no/such/parent")).code(), absl::StatusCode::kNotFound);
}

TEST_P(FilesystemConformance, DeleteFileAndDirectory) {
  ASSERT_TRUE(fs().CreateDir(P("d")).ok());
  ASSERT_TRUE(WriteStringToFile(fs(), P("d/f"), "x", false).ok());
  EXPECT_EQ(fs().DeleteDir(P("d")).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(fs().DeleteFile(P("d/f")).ok());
  ASSERT_TRUE(fs().DeleteDir(P("d")).ok());
  EXPECT_EQ(fs().DeleteFile(P("d/f")).code(), absl::StatusCode::kNotFound);
}

TEST_P(FilesystemConformance, RenameReplacesAFile) {
  ASSERT_TRUE(WriteStringToFile(fs(), P("a"), "new", false).ok());
  ASSERT_TRUE(WriteStringToFile(fs(), P("b"), "old", false).ok());
  ASSERT_TRUE(fs().Rename(P("a"), P("b")).ok());
  EXPECT_EQ(*ReadFileToString(fs(), P("b"), 10), "new");
  EXPECT_FALSE(*PathExists(fs(), P("a")));
}

TEST_P(FilesystemConformance, RenameMovesADirectoryWithItsContents) {
  ASSERT_TRUE(CreateDirs(fs(), P("x/y")).ok());
  ASSERT_TRUE(WriteStringToFile(fs(), P("x/y/f"), "z", false).ok());
  ASSERT_TRUE(fs().Rename(P("x"), P("w")).ok());
  EXPECT_EQ(*ReadFileToString(fs(), P("w/y/f"), 10), "z");
  ASSERT_TRUE(fs().CreateDir(P("full")).ok());
  ASSERT_TRUE(WriteStringToFile(fs(), P("full/f"), "", false).ok());
  EXPECT_FALSE(fs().Rename(P("w"), P("full")).ok());  // onto a non-empty directory
}

TEST_P(FilesystemConformance, OpeningAMissingFileIsNotFound) {
  EXPECT_EQ(fs().NewReadableFile(P("missing")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(fs().NewWritableFile(P("no/parent")).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(FilesystemConformance, ReadFileToStringRefusesLargeFiles) {
  ASSERT_TRUE(WriteStringToFile(fs(), P("f"), std::string(100, 'x'), false).ok());
  auto contents = ReadFileToString(fs(), P("f"), 99);
  EXPECT_EQ(contents.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(contents.status().message()), ::testing::HasSubstr(P("f")));
}

TEST_P(FilesystemConformance, CreateDirsAndDeleteRecursively) {
  ASSERT_TRUE(CreateDirs(fs(), P("a/b/c")).ok());
  ASSERT_TRUE(CreateDirs(fs(), P("a/b/c")).ok());  // already there
  ASSERT_TRUE(WriteStringToFile(fs(), P("a/b/f"), "x", false).ok());
  EXPECT_EQ(CreateDirs(fs(), P("a/b/f/g")).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(DeleteRecursively(fs(), P("a")).ok());
  EXPECT_FALSE(*PathExists(fs(), P("a")));
}

INSTANTIATE_TEST_SUITE_P(
    Backends, FilesystemConformance,
    ::testing::Values(
        Backend{"Posix",
                [](auto& tmp, auto&, auto&, std::string* root) {
                  tmp = std::make_unique<testing::TempDir>();
                  *root = tmp->path();
                  return Filesystem::Default();
                }},
        Backend{"Memory",
                [](auto&, auto& owned, auto&, std::string* root) {
                  owned = std::make_unique<MemoryFilesystem>();
                  *root = "/";
                  return owned.get();
                }},
        Backend{"FaultInjectionOverMemory",
                [](auto&, auto& owned, auto& inner, std::string* root) {
                  inner = std::make_unique<MemoryFilesystem>();
                  owned = std::make_unique<FaultInjectionFilesystem>(inner.get());
                  *root = "/";
                  return owned.get();
                }}),
    [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

TEST(PosixFilesystem, RefusesSymlinkedFiles) {
  testing::TempDir tmp;
  ASSERT_TRUE(WriteStringToFile(*Filesystem::Default(), tmp.Join("real"), "x", false).ok());
  ASSERT_EQ(::symlink(tmp.Join("real").c_str(), tmp.Join("link").c_str()), 0);
  EXPECT_FALSE(Filesystem::Default()->NewReadableFile(tmp.Join("link")).ok());
  EXPECT_FALSE(Filesystem::Default()->NewWritableFile(tmp.Join("link")).ok());
  EXPECT_TRUE(Filesystem::Default()->Stat(tmp.Join("link"))->is_symlink());
}

TEST(MemoryFilesystem, RefusesSymlinkedFiles) {
  MemoryFilesystem fs;
  ASSERT_TRUE(WriteStringToFile(fs, "/real", "x", false).ok());
  ASSERT_TRUE(fs.CreateSymlink("/real", "/link").ok());
  EXPECT_FALSE(fs.NewReadableFile("/link").ok());
  EXPECT_FALSE(fs.NewWritableFile("/link").ok());
  EXPECT_TRUE(fs.Stat("/link")->is_symlink());
}

TEST(JoinPath, PutsOneSlashBetween) {
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "/b"), "a/b");
  EXPECT_EQ(JoinPath("/", "b"), "/b");
  EXPECT_EQ(ParentPath("/a/b"), "/a");
  EXPECT_EQ(ParentPath("/a"), "/");
  EXPECT_EQ(ParentPath("a"), ".");
}

}  // namespace
}  // namespace cairn
