// `cairn export --safetensors` and `cairn import --safetensors` through the binary: a step goes
// out and comes back with the same arrays, and a file that breaks the format is refused.
#include <fstream>
#include <string>

#include "cairn/steps/checkpoint.h"
#include "cairn/storage/pytree_store.h"
#include "gtest/gtest.h"
#include "tests/cli/cli_runner.h"
#include "tests/support/temp_dir.h"

namespace cairn::testing {
namespace {

class CliSafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.Join("run");
    MakeRun(root_);
  }
  TempDir tmp_;
  std::string root_;
};

TEST_F(CliSafetensorsTest, AnExportedStepImportsBackWithTheSameArrays) {
  const std::string file = tmp_.Join("model.safetensors");
  const CliResult exported =
      RunCairn("export --safetensors --json " + Quoted(root_ + "/5") + " " + Quoted(file));
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_EQ(exported.json()["tensors"], 3);  // params.w, params.b and the step
  const std::string back = tmp_.Join("imported/0");
  const CliResult imported = RunCairn("import --safetensors " + Quoted(file) + " " + Quoted(back));
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  absl::StatusOr<Tree> original = Load(root_ + "/5");
  absl::StatusOr<Tree> again = Load(back);
  ASSERT_TRUE(original.ok()) << original.status();
  ASSERT_TRUE(again.ok()) << again.status();
  for (const char* key : {"w", "b"}) {
    EXPECT_TRUE(again->Find("params")->Find(key)->array().ContentEquals(
        original->Find("params")->Find(key)->array()))
        << key;
  }
  // The step counter, a scalar in the run, comes back as a 0-d array (docs/SAFETENSORS.md).
  EXPECT_EQ(again->Find("step")->array().rank(), 0);
}

TEST_F(CliSafetensorsTest, AFileWhoseHeaderRunsPastItsEndIsRefused) {
  const std::string file = tmp_.Join("broken.safetensors");
  {
    std::ofstream out(file, std::ios::binary);
    const char size[8] = {static_cast<char>(200), 0, 0, 0, 0, 0, 0, 0};
    out.write(size, 8);
    out << "{}";
  }
  const CliResult result =
      RunCairn("import --safetensors " + Quoted(file) + " " + Quoted(tmp_.Join("out/0")));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("runs past the end"), std::string::npos) << result.err;
}

TEST_F(CliSafetensorsTest, ExportWithoutAFormatIsAUsageError) {
  EXPECT_EQ(RunCairn("export " + Quoted(root_ + "/5") + " " + Quoted(tmp_.Join("x"))).exit_code, 2);
}

}  // namespace
}  // namespace cairn::testing
