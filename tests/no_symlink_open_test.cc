// The component walk that stands in for openat2 on kernels without it: it must refuse a link in
// any component exactly as openat2 does, and open everything else.
#include "cairn/utils/internal/no_symlink_open.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "support/temp_dir.h"

namespace cairn {
namespace {

using ::cairn::internal::OpenNoSymlinks;
using ::cairn::internal::OpenNoSymlinksByWalk;
using ::cairn::internal::ScopedFd;
using ::cairn::testing::TempDir;

class NoSymlinkOpenTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(tmp_.Join("real/sub"));
    std::ofstream(tmp_.Join("real/sub/file")) << "bytes";
    std::filesystem::create_directory_symlink(tmp_.Join("real"), tmp_.Join("link"));
    std::filesystem::create_symlink(tmp_.Join("real/sub/file"), tmp_.Join("real/sub/filelink"));
  }
  ScopedFd Open(const std::string& path, int flags) {
    return GetParam() ? OpenNoSymlinksByWalk(path, flags) : OpenNoSymlinks(path, flags);
  }
  TempDir tmp_;
};

TEST_P(NoSymlinkOpenTest, OpensAPathWithoutLinks) {
  ScopedFd fd = Open(tmp_.Join("real/sub/file"), O_RDONLY);
  ASSERT_TRUE(fd.valid()) << strerror(errno);
  char buffer[8] = {};
  EXPECT_EQ(::read(fd.get(), buffer, sizeof(buffer)), 5);
  EXPECT_STREQ(buffer, "bytes");
}

TEST_P(NoSymlinkOpenTest, RefusesALinkedDirectoryOnTheWay) {
  ScopedFd fd = Open(tmp_.Join("link/sub/file"), O_RDONLY);
  EXPECT_FALSE(fd.valid());
  EXPECT_EQ(errno, ELOOP);
}

TEST_P(NoSymlinkOpenTest, RefusesALinkAsTheLastComponent) {
  ScopedFd fd = Open(tmp_.Join("real/sub/filelink"), O_RDONLY);
  EXPECT_FALSE(fd.valid());
  EXPECT_EQ(errno, ELOOP);
}

TEST_P(NoSymlinkOpenTest, RefusesAFileOnTheWay) {
  ScopedFd fd = Open(tmp_.Join("real/sub/file/x"), O_RDONLY);
  EXPECT_FALSE(fd.valid());
  EXPECT_EQ(errno, ENOTDIR);
}

TEST_P(NoSymlinkOpenTest, CreatesAFileBelowRealDirectoriesOnly) {
  EXPECT_TRUE(Open(tmp_.Join("real/sub/new"), O_WRONLY | O_CREAT).valid());
  EXPECT_FALSE(Open(tmp_.Join("link/sub/new2"), O_WRONLY | O_CREAT).valid());
  EXPECT_FALSE(std::filesystem::exists(tmp_.Join("real/sub/new2")));
}

INSTANTIATE_TEST_SUITE_P(Openat2AndWalk, NoSymlinkOpenTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Walk" : "Openat2";
                         });

}  // namespace
}  // namespace cairn
