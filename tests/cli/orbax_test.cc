// The cairn command on an Orbax pytree (zarr arrays, no checksums): inspected, verified by
// reading its arrays back, and compared with a cairn tree holding the same values.
#include <filesystem>
#include <string>

#include "cairn/storage/pytree_store.h"
#include "gtest/gtest.h"
#include "tests/cli/cli_runner.h"
#include "tests/support/orbax_pytree_writer.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn::testing {
namespace {

class CliOrbaxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.Join("orbax");
    orbax_test::OrbaxPyTreeWriter writer;
    writer.AddArray({orbax_test::K("w")}, Iota<float>({8, 4}), {4, 4});
    ASSERT_TRUE(writer.Write(*Filesystem::Default(), dir_).ok());
  }
  TempDir tmp_;
  std::string dir_;
};

TEST_F(CliOrbaxTest, InspectShowsTheArray) {
  const CliResult result = RunCairn("inspect --json " + Quoted(dir_));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json entries = result.json()["pytrees"][""]["entries"];
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0]["path"], "w");
  EXPECT_EQ(entries[0]["dtype"], "float32");
  EXPECT_EQ(entries[0]["shape"], nlohmann::json({8, 4}));
}

TEST_F(CliOrbaxTest, VerifyReadsItBackAndSaysThereIsNoListing) {
  const CliResult result = RunCairn("verify --json " + Quoted(dir_));
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  const nlohmann::json json = result.json();
  EXPECT_FALSE(json["checkpoints"][0]["has_listing"].get<bool>());
  EXPECT_EQ(json["checkpoints"][0]["leaves_checked"], 1);
}

TEST_F(CliOrbaxTest, DiffWithTheSameValuesInCairnsFormatIsSame) {
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(Iota<float>({8, 4})));
  ASSERT_TRUE(SaveTree(tmp_.Join("cairn"), tree).ok());
  const CliResult result = RunCairn("diff " + Quoted(dir_) + " " + Quoted(tmp_.Join("cairn")));
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

}  // namespace
}  // namespace cairn::testing
