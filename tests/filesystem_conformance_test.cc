// One suite run against every Filesystem: POSIX (in a temporary directory), in-memory, and the
// fault-injecting wrapper with nothing armed. Each must behave like the others, so that what the
// in-memory tests prove about cairn holds on a real disk.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "cairn/utils/fault_injection_filesystem.h"
#include "cairn/utils/filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

enum class Backend { kPosix, kMemory, kFaultInjectionOverMemory };

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  switch (info.param) {
    case Backend::kPosix:
      return "Posix";
    case Backend::kMemory:
      return "Memory";
    case Backend::kFaultInjectionOverMemory:
      return "FaultInjectionOverMemory";
  }
  return "Unknown";
}

std::vector<std::string> Sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

class FilesystemConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    switch (GetParam()) {
      case Backend::kPosix: {
        std::string pattern = JoinPath(::testing::TempDir(), "cairn-fs-XXXXXX");
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
        root_ = pattern;
        fs_ = Filesystem::Default();
        return;
      }
      case Backend::kMemory:
        memory_ = std::make_unique<MemoryFilesystem>();
        fs_ = memory_.get();
        break;
      case Backend::kFaultInjectionOverMemory:
        memory_ = std::make_unique<MemoryFilesystem>();
        faults_ = std::make_unique<FaultInjectionFilesystem>(memory_.get());
        fs_ = faults_.get();
        break;
    }
    root_ = "/test";
    ASSERT_TRUE(fs_->CreateDir(root_).ok());
  }

  void TearDown() override {
    if (GetParam() == Backend::kPosix && !root_.empty()) {
      const absl::Status status = DeleteRecursively(*fs_, root_);
      EXPECT_TRUE(status.ok()) << status;
    }
  }

  Filesystem& fs() { return *fs_; }
  // `name` inside this test's directory.
  std::string P(const std::string& name) const { return JoinPath(root_, name); }

  // A symlink at `path` to `target`, by whatever means the backend offers.
  absl::Status Symlink(const std::string& target, const std::string& path) {
    if (memory_ != nullptr) return memory_->CreateSymlink(target, path);
    if (::symlink(target.c_str(), path.c_str()) != 0) return absl::InternalError("symlink");
    return absl::OkStatus();
  }

  void Write(const std::string& name, absl::string_view data) {
    const absl::Status status = WriteStringToFile(fs(), P(name), data, /*sync=*/false);
    ASSERT_TRUE(status.ok()) << status;
  }

  // The whole file, or the error's text so that a failure shows in the comparison.
  std::string Read(const std::string& name) {
    absl::StatusOr<std::string> contents = ReadFileToString(fs(), P(name), 1 << 20);
    return contents.ok() ? *contents : contents.status().ToString();
  }

  std::unique_ptr<WritableFile> Create(const std::string& name) {
    absl::StatusOr<std::unique_ptr<WritableFile>> file = fs().NewWritableFile(P(name));
    EXPECT_TRUE(file.ok()) << file.status();
    return file.ok() ? *std::move(file) : nullptr;
  }

  std::unique_ptr<ReadableFile> Open(const std::string& name) {
    absl::StatusOr<std::unique_ptr<ReadableFile>> file = fs().NewReadableFile(P(name));
    EXPECT_TRUE(file.ok()) << file.status();
    return file.ok() ? *std::move(file) : nullptr;
  }

  std::unique_ptr<MemoryFilesystem> memory_;
  std::unique_ptr<FaultInjectionFilesystem> faults_;
  Filesystem* fs_ = nullptr;
  std::string root_;
};

TEST_P(FilesystemConformance, AppendedBytesReadBack) {
  auto file = Create("f");
  ASSERT_NE(file, nullptr);
  ASSERT_TRUE(file->Append("hello ").ok());
  ASSERT_TRUE(file->Append("world").ok());
  ASSERT_TRUE(file->Close().ok());
  EXPECT_EQ(Read("f"), "hello world");
}

TEST_P(FilesystemConformance, WriteAtOverwritesInPlace) {
  auto file = Create("f");
  ASSERT_NE(file, nullptr);
  ASSERT_TRUE(file->Append("hello").ok());
  ASSERT_TRUE(file->WriteAt(1, "EL").ok());
  ASSERT_TRUE(file->Close().ok());
  EXPECT_EQ(Read("f"), "hELlo");
}

TEST_P(FilesystemConformance, WriteAtPastTheEndLeavesAZeroFilledGap) {
  auto file = Create("f");
  ASSERT_NE(file, nullptr);
  ASSERT_TRUE(file->WriteAt(3, "x").ok());
  ASSERT_TRUE(file->Close().ok());
  EXPECT_EQ(Read("f"), std::string("\0\0\0x", 4));
}

TEST_P(FilesystemConformance, AppendAfterWriteAtGoesToTheEndOfTheFile) {
  auto file = Create("f");
  ASSERT_NE(file, nullptr);
  ASSERT_TRUE(file->WriteAt(2, "ab").ok());
  ASSERT_TRUE(file->Append("cd").ok());
  ASSERT_TRUE(file->Close().ok());
  EXPECT_EQ(Read("f"), std::string("\0\0abcd", 6));
}

TEST_P(FilesystemConformance, WritesOnDisjointRangesFromSeveralThreads) {
  auto file = Create("f");
  ASSERT_NE(file, nullptr);
  constexpr int kThreads = 4;
  constexpr int kBlock = 4096;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&file, t] {
      const std::string block(kBlock, static_cast<char>('a' + t));
      EXPECT_TRUE(file->WriteAt(uint64_t{kBlock} * t, block).ok());
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_TRUE(file->Close().ok());
  std::string expected;
  for (int t = 0; t < kThreads; ++t) expected += std::string(kBlock, static_cast<char>('a' + t));
  EXPECT_EQ(Read("f"), expected);
}

TEST_P(FilesystemConformance, NewWritableFileTruncates) {
  Write("f", "old contents");
  auto file = Create("f");
  ASSERT_NE(file, nullptr);
  ASSERT_TRUE(file->Append("new").ok());
  ASSERT_TRUE(file->Close().ok());
  EXPECT_EQ(Read("f"), "new");
}

TEST_P(FilesystemConformance, WritingAfterCloseFails) {
  auto file = Create("f");
  ASSERT_NE(file, nullptr);
  ASSERT_TRUE(file->Close().ok());
  EXPECT_EQ(file->Append("x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(file->Sync().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_P(FilesystemConformance, SyncSucceedsOnAnOpenFile) {
  auto file = Create("f");
  ASSERT_NE(file, nullptr);
  ASSERT_TRUE(file->Append("x").ok());
  const absl::Status status = file->Sync();
  EXPECT_TRUE(status.ok()) << status;
}

TEST_P(FilesystemConformance, ReadAtAcrossTheEndIsShort) {
  Write("f", "abcdef");
  auto file = Open("f");
  ASSERT_NE(file, nullptr);
  char buffer[16];
  absl::StatusOr<size_t> n = file->ReadAt(4, 10, buffer);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(std::string(buffer, *n), "ef");
}

TEST_P(FilesystemConformance, ReadAtPastTheEndReadsNothing) {
  Write("f", "abcdef");
  auto file = Open("f");
  ASSERT_NE(file, nullptr);
  char buffer[16];
  EXPECT_EQ(*file->ReadAt(6, 10, buffer), 0u);
  EXPECT_EQ(*file->ReadAt(100, 10, buffer), 0u);
}

TEST_P(FilesystemConformance, SizeOfAnOpenFile) {
  Write("f", "abcdef");
  auto file = Open("f");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(*file->Size(), 6u);
}

TEST_P(FilesystemConformance, StatDescribesAFile) {
  const absl::Time before = absl::Now() - absl::Seconds(2);
  Write("f", "abc");
  absl::StatusOr<FileInfo> info = fs().Stat(P("f"));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->is_file());
  EXPECT_EQ(info->size, 3u);
  EXPECT_GE(info->modification_time, before);
  EXPECT_LE(info->modification_time, absl::Now() + absl::Seconds(2));
}

TEST_P(FilesystemConformance, StatDescribesADirectory) {
  ASSERT_TRUE(fs().CreateDir(P("d")).ok());
  absl::StatusOr<FileInfo> info = fs().Stat(P("d"));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->is_directory());
}

TEST_P(FilesystemConformance, StatOfAMissingPathIsNotFound) {
  EXPECT_EQ(fs().Stat(P("missing")).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(FilesystemConformance, ListDirNamesEveryEntry) {
  Write("a", "");
  ASSERT_TRUE(fs().CreateDir(P("b")).ok());
  absl::StatusOr<std::vector<std::string>> names = fs().ListDir(root_);
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_EQ(Sorted(*names), (std::vector<std::string>{"a", "b"}));
}

TEST_P(FilesystemConformance, ListDirEntriesReportsTypes) {
  Write("a", "");
  ASSERT_TRUE(fs().CreateDir(P("b")).ok());
  absl::StatusOr<std::vector<DirEntry>> entries = fs().ListDirEntries(root_);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 2u);
  for (const DirEntry& entry : *entries) {
    EXPECT_EQ(entry.type, entry.name == "a" ? FileInfo::Type::kFile : FileInfo::Type::kDirectory)
        << entry.name;
  }
}

TEST_P(FilesystemConformance, ListDirOfAFileFails) {
  Write("f", "");
  EXPECT_EQ(fs().ListDir(P("f")).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_P(FilesystemConformance, ListDirOfAMissingDirectoryIsNotFound) {
  EXPECT_EQ(fs().ListDir(P("missing")).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(FilesystemConformance, CreateDirTwiceIsAlreadyExists) {
  ASSERT_TRUE(fs().CreateDir(P("d")).ok());
  EXPECT_EQ(fs().CreateDir(P("d")).code(), absl::StatusCode::kAlreadyExists);
}

TEST_P(FilesystemConformance, CreateDirOverAFileIsAlreadyExists) {
  Write("f", "");
  EXPECT_EQ(fs().CreateDir(P("f")).code(), absl::StatusCode::kAlreadyExists);
}

TEST_P(FilesystemConformance, CreateDirWithAMissingParentIsNotFound) {
  EXPECT_EQ(fs().CreateDir(P("no/such/parent")).code(), absl::StatusCode::kNotFound);
}

TEST_P(FilesystemConformance, DeleteFileRemovesIt) {
  Write("f", "x");
  ASSERT_TRUE(fs().DeleteFile(P("f")).ok());
  EXPECT_FALSE(*PathExists(fs(), P("f")));
}

TEST_P(FilesystemConformance, DeleteFileOfAMissingFileIsNotFound) {
  EXPECT_EQ(fs().DeleteFile(P("missing")).code(), absl::StatusCode::kNotFound);
}

TEST_P(FilesystemConformance, DeleteDirRemovesAnEmptyDirectory) {
  ASSERT_TRUE(fs().CreateDir(P("d")).ok());
  ASSERT_TRUE(fs().DeleteDir(P("d")).ok());
  EXPECT_FALSE(*PathExists(fs(), P("d")));
}

TEST_P(FilesystemConformance, DeleteDirOfANonEmptyDirectoryFails) {
  ASSERT_TRUE(fs().CreateDir(P("d")).ok());
  Write("d/f", "x");
  EXPECT_EQ(fs().DeleteDir(P("d")).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Read("d/f"), "x");
}

TEST_P(FilesystemConformance, RenameReplacesAFile) {
  Write("a", "new");
  Write("b", "old");
  ASSERT_TRUE(fs().Rename(P("a"), P("b")).ok());
  EXPECT_EQ(Read("b"), "new");
  EXPECT_FALSE(*PathExists(fs(), P("a")));
}

TEST_P(FilesystemConformance, RenameMovesADirectoryWithItsContents) {
  ASSERT_TRUE(CreateDirs(fs(), P("x/y")).ok());
  Write("x/y/f", "z");
  ASSERT_TRUE(fs().Rename(P("x"), P("w")).ok());
  EXPECT_EQ(Read("w/y/f"), "z");
  EXPECT_FALSE(*PathExists(fs(), P("x")));
}

TEST_P(FilesystemConformance, RenameOntoAnEmptyDirectoryReplacesIt) {
  ASSERT_TRUE(fs().CreateDir(P("from")).ok());
  Write("from/f", "z");
  ASSERT_TRUE(fs().CreateDir(P("to")).ok());
  ASSERT_TRUE(fs().Rename(P("from"), P("to")).ok());
  EXPECT_EQ(Read("to/f"), "z");
}

TEST_P(FilesystemConformance, RenameOntoANonEmptyDirectoryFails) {
  ASSERT_TRUE(fs().CreateDir(P("from")).ok());
  ASSERT_TRUE(fs().CreateDir(P("full")).ok());
  Write("full/f", "");
  EXPECT_EQ(fs().Rename(P("from"), P("full")).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(*PathExists(fs(), P("from")));
}

TEST_P(FilesystemConformance, RenameOfAMissingPathIsNotFound) {
  EXPECT_EQ(fs().Rename(P("missing"), P("b")).code(), absl::StatusCode::kNotFound);
}

TEST_P(FilesystemConformance, OpeningAMissingFileIsNotFound) {
  EXPECT_EQ(fs().NewReadableFile(P("missing")).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(FilesystemConformance, CreatingAFileInAMissingDirectoryIsNotFound) {
  EXPECT_EQ(fs().NewWritableFile(P("no/f")).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(FilesystemConformance, OpeningADirectoryAsAFileFails) {
  ASSERT_TRUE(fs().CreateDir(P("d")).ok());
  EXPECT_EQ(fs().NewReadableFile(P("d")).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(fs().NewWritableFile(P("d")).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_P(FilesystemConformance, ErrorsNameThePath) {
  const absl::Status status = fs().NewReadableFile(P("missing")).status();
  EXPECT_TRUE(absl::StrContains(status.message(), P("missing"))) << status;
}

TEST_P(FilesystemConformance, SyncDirSucceedsOnADirectory) {
  const absl::Status status = fs().SyncDir(root_);
  EXPECT_TRUE(status.ok()) << status;
}

TEST_P(FilesystemConformance, SyncDirOfAMissingDirectoryIsNotFound) {
  EXPECT_EQ(fs().SyncDir(P("missing")).code(), absl::StatusCode::kNotFound);
}

TEST_P(FilesystemConformance, ReadingThroughASymlinkIsRefused) {
  Write("real", "x");
  ASSERT_TRUE(Symlink(P("real"), P("link")).ok());
  const absl::Status status = fs().NewReadableFile(P("link")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(status.message(), "symlink")) << status;
}

TEST_P(FilesystemConformance, WritingThroughASymlinkIsRefused) {
  Write("real", "x");
  ASSERT_TRUE(Symlink(P("real"), P("link")).ok());
  const absl::Status status = fs().NewWritableFile(P("link")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(status.message(), "symlink")) << status;
  EXPECT_EQ(Read("real"), "x");
}

TEST_P(FilesystemConformance, StatReportsASymlinkWithoutFollowingIt) {
  ASSERT_TRUE(fs().CreateDir(P("d")).ok());
  ASSERT_TRUE(Symlink(P("d"), P("link")).ok());
  absl::StatusOr<FileInfo> info = fs().Stat(P("link"));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->is_symlink());
}

// Every operation below a symlinked directory: refused, nothing in the link's target touched.
class SymlinkedComponent : public FilesystemConformance {
 protected:
  void SetUp() override {
    FilesystemConformance::SetUp();
    ASSERT_TRUE(fs().CreateDir(P("outside")).ok());
    Write("outside/file", "outside");
    ASSERT_TRUE(fs().CreateDir(P("outside/dir")).ok());
    ASSERT_TRUE(fs().CreateDir(P("inside")).ok());
    ASSERT_TRUE(Symlink(P("outside"), P("inside/link")).ok());
  }
  void ExpectRefused(const absl::Status& status) {
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_TRUE(absl::StrContains(status.message(), "symlink")) << status;
    EXPECT_EQ(Read("outside/file"), "outside");
    EXPECT_TRUE(fs().Stat(P("outside/dir")).ok());
  }
  std::string Via(absl::string_view name) { return P(absl::StrCat("inside/link/", name)); }
};

TEST_P(SymlinkedComponent, ReadIsRefused) {
  ExpectRefused(fs().NewReadableFile(Via("file")).status());
}
TEST_P(SymlinkedComponent, CreateIsRefused) {
  ExpectRefused(fs().NewWritableFile(Via("file")).status());
}
TEST_P(SymlinkedComponent, StatIsRefused) { ExpectRefused(fs().Stat(Via("file")).status()); }
TEST_P(SymlinkedComponent, ListingIsRefused) {
  ExpectRefused(fs().ListDirEntries(Via("dir")).status());
  ExpectRefused(fs().ListDir(P("inside/link")).status());
}
TEST_P(SymlinkedComponent, MkdirIsRefused) { ExpectRefused(fs().CreateDir(Via("new"))); }
TEST_P(SymlinkedComponent, DeleteIsRefused) {
  ExpectRefused(fs().DeleteFile(Via("file")));
  ExpectRefused(fs().DeleteDir(Via("dir")));
}
TEST_P(SymlinkedComponent, RenameIsRefusedEitherWay) {
  ExpectRefused(fs().Rename(Via("file"), P("inside/stolen")));
  Write("inside/planted", "planted");
  ExpectRefused(fs().Rename(P("inside/planted"), Via("file")));
}
TEST_P(SymlinkedComponent, SyncDirIsRefused) { ExpectRefused(fs().SyncDir(Via("dir"))); }
TEST_P(SymlinkedComponent, DeleteRecursivelyRemovesTheLinkOnly) {
  ASSERT_TRUE(DeleteRecursively(fs(), P("inside")).ok());
  EXPECT_EQ(fs().Stat(P("inside")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Read("outside/file"), "outside");
}

TEST_P(FilesystemConformance, ReadFileToStringReadsTheWholeFile) {
  Write("f", std::string(100, 'x'));
  absl::StatusOr<std::string> contents = ReadFileToString(fs(), P("f"), 100);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(*contents, std::string(100, 'x'));
}

TEST_P(FilesystemConformance, ReadFileToStringRefusesAFileOverTheLimit) {
  Write("f", std::string(100, 'x'));
  const absl::Status status = ReadFileToString(fs(), P("f"), 99).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(status.message(), P("f"))) << status;
}

TEST_P(FilesystemConformance, WriteStringToFileReplacesTheContents) {
  Write("f", "first");
  ASSERT_TRUE(WriteStringToFile(fs(), P("f"), "second", /*sync=*/true).ok());
  EXPECT_EQ(Read("f"), "second");
}

TEST_P(FilesystemConformance, PathExistsTellsWhetherAnythingIsThere) {
  Write("f", "");
  EXPECT_TRUE(*PathExists(fs(), P("f")));
  EXPECT_TRUE(*PathExists(fs(), root_));
  EXPECT_FALSE(*PathExists(fs(), P("missing")));
}

TEST_P(FilesystemConformance, CreateDirsMakesEveryLevel) {
  ASSERT_TRUE(CreateDirs(fs(), P("a/b/c")).ok());
  EXPECT_TRUE(fs().Stat(P("a/b/c"))->is_directory());
}

TEST_P(FilesystemConformance, CreateDirsOnAnExistingDirectoryIsOk) {
  ASSERT_TRUE(CreateDirs(fs(), P("a/b")).ok());
  const absl::Status status = CreateDirs(fs(), P("a/b"));
  EXPECT_TRUE(status.ok()) << status;
}

TEST_P(FilesystemConformance, CreateDirsThroughAFileFails) {
  ASSERT_TRUE(fs().CreateDir(P("a")).ok());
  Write("a/f", "x");
  EXPECT_EQ(CreateDirs(fs(), P("a/f")).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CreateDirs(fs(), P("a/f/g")).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_P(FilesystemConformance, DeleteRecursivelyRemovesATree) {
  ASSERT_TRUE(CreateDirs(fs(), P("a/b/c")).ok());
  Write("a/f", "x");
  Write("a/b/g", "y");
  ASSERT_TRUE(DeleteRecursively(fs(), P("a")).ok());
  EXPECT_FALSE(*PathExists(fs(), P("a")));
}

TEST_P(FilesystemConformance, DeleteRecursivelyRemovesASingleFile) {
  Write("f", "x");
  ASSERT_TRUE(DeleteRecursively(fs(), P("f")).ok());
  EXPECT_FALSE(*PathExists(fs(), P("f")));
}

TEST_P(FilesystemConformance, DeleteRecursivelyOfAMissingPathIsNotFound) {
  EXPECT_EQ(DeleteRecursively(fs(), P("missing")).code(), absl::StatusCode::kNotFound);
}

TEST_P(FilesystemConformance, DeleteRecursivelyRemovesSymlinksNotTheirTargets) {
  ASSERT_TRUE(CreateDirs(fs(), P("kept/inner")).ok());
  Write("kept/inner/f", "x");
  ASSERT_TRUE(fs().CreateDir(P("doomed")).ok());
  ASSERT_TRUE(Symlink(P("kept"), P("doomed/link")).ok());
  ASSERT_TRUE(DeleteRecursively(fs(), P("doomed")).ok());
  EXPECT_FALSE(*PathExists(fs(), P("doomed")));
  EXPECT_EQ(Read("kept/inner/f"), "x");
}

INSTANTIATE_TEST_SUITE_P(Backends, FilesystemConformance,
                         ::testing::Values(Backend::kPosix, Backend::kMemory,
                                           Backend::kFaultInjectionOverMemory),
                         BackendName);
INSTANTIATE_TEST_SUITE_P(Backends, SymlinkedComponent,
                         ::testing::Values(Backend::kPosix, Backend::kMemory,
                                           Backend::kFaultInjectionOverMemory),
                         BackendName);

// POSIX only: things the in-memory filesystem has no way to express.
class PosixFilesystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = JoinPath(::testing::TempDir(), "cairn-posix-XXXXXX");
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
    root_ = pattern;
  }
  void TearDown() override {
    if (root_.empty()) return;
    const absl::Status status = DeleteRecursively(fs_, root_);
    EXPECT_TRUE(status.ok()) << status;
  }

  Filesystem& fs_ = *Filesystem::Default();
  std::string root_;
};

TEST_F(PosixFilesystemTest, CreateDirsRefusesASymlinkedComponent) {
  ASSERT_TRUE(fs_.CreateDir(JoinPath(root_, "real")).ok());
  ASSERT_EQ(::symlink(JoinPath(root_, "real").c_str(), JoinPath(root_, "link").c_str()), 0);
  const absl::Status status = CreateDirs(fs_, JoinPath(root_, "link/a/b"));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_EQ(fs_.Stat(JoinPath(root_, "real/a")).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PosixFilesystemTest, CanonicalPathResolvesLinksAndAppendsWhatDoesNotExist) {
  ASSERT_TRUE(fs_.CreateDir(JoinPath(root_, "real")).ok());
  ASSERT_EQ(::symlink(JoinPath(root_, "real").c_str(), JoinPath(root_, "link").c_str()), 0);
  absl::StatusOr<std::string> resolved = fs_.CanonicalPath(JoinPath(root_, "link/./new/run"));
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  absl::StatusOr<std::string> real = fs_.CanonicalPath(JoinPath(root_, "real"));
  ASSERT_TRUE(real.ok()) << real.status();
  EXPECT_EQ(*resolved, JoinPath(*real, "new/run"));
  EXPECT_EQ(real->front(), '/');
}

TEST_F(PosixFilesystemTest, OpeningAFifoIsRefusedWithoutBlocking) {
  const std::string fifo = JoinPath(root_, "fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(fs_.NewReadableFile(fifo).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(PosixFilesystemTest, DefaultIsOneInstance) {
  EXPECT_EQ(Filesystem::Default(), Filesystem::Default());
}

TEST(JoinPath, PutsOneSlashBetween) {
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("/", "b"), "/b");
}

TEST(JoinPath, KeepsTheSecondPartRelative) { EXPECT_EQ(JoinPath("/a", "/b"), "/a/b"); }

TEST(JoinPath, EmptyPartsAddNothing) {
  EXPECT_EQ(JoinPath("", "b"), "b");
  EXPECT_EQ(JoinPath("/a", ""), "/a");
}

TEST(ParentPath, DropsTheLastComponent) {
  EXPECT_EQ(ParentPath("/a/b"), "/a");
  EXPECT_EQ(ParentPath("/a/b/"), "/a");
  EXPECT_EQ(ParentPath("/a"), "/");
  EXPECT_EQ(ParentPath("a"), ".");
}

}  // namespace
}  // namespace cairn
