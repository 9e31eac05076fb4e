// `cairn ls`, `inspect` and usage errors, through the binary, on a small Checkpointer run with a
// lease held, a save in progress and an empty directory named like a step.
#include <unistd.h>

#include <filesystem>
#include <string>

#include "cairn/steps/checkpoint.h"
#include "cairn/steps/lease.h"
#include "cairn/steps/temporary_names.h"
#include "gtest/gtest.h"
#include "tests/cli/cli_runner.h"
#include "tests/support/temp_dir.h"

namespace cairn::testing {
namespace {

class CliListingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    root_ = tmp_->Join("run");
    MakeRun(root_);
    absl::StatusOr<StepLease> lease = AcquireLease(root_ + "/2");
    ASSERT_TRUE(lease.ok()) << lease.status();
    lease_ = new StepLease(*std::move(lease));
    std::filesystem::create_directory(root_ + "/" +
                                      MakeTemporaryName("6", TemporaryKind::kInProgress));
    std::filesystem::create_directory(root_ + "/9");
  }
  static void TearDownTestSuite() {
    delete lease_;
    delete tmp_;
  }
  static TempDir* tmp_;
  static StepLease* lease_;
  static std::string root_;
};
TempDir* CliListingTest::tmp_ = nullptr;
StepLease* CliListingTest::lease_ = nullptr;
std::string CliListingTest::root_;

TEST_F(CliListingTest, LsListsEveryStepWithItsMetrics) {
  const CliResult result = RunCairn("ls --json " + Quoted(root_));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json json = result.json();
  ASSERT_EQ(json["steps"].size(), 5u);
  EXPECT_EQ(json["steps"][0]["step"], 1);
  EXPECT_DOUBLE_EQ(json["steps"][3]["metrics"]["loss"].get<double>(), 0.25);
  EXPECT_GT(json["steps"][0]["bytes"].get<uint64_t>(), 32u * 16u * 4u);
  EXPECT_TRUE(json["steps"][4]["latest"].get<bool>());
}

TEST_F(CliListingTest, LsNamesTheHolderOfALease) {
  const nlohmann::json json = RunCairn("ls --json " + Quoted(root_)).json();
  const nlohmann::json& step = json["steps"][1];
  ASSERT_EQ(step["step"], 2);
  EXPECT_TRUE(step["leased"].get<bool>());
  ASSERT_EQ(step["leases"].size(), 1u);
  EXPECT_EQ(step["leases"][0]["pid"], ::getpid());
  EXPECT_EQ(step["leases"][0]["host"], HostName());
  EXPECT_FALSE(json["steps"][0]["leased"].get<bool>());
}

TEST_F(CliListingTest, LsSummarisesTemporariesAndSkippedNames) {
  const nlohmann::json json = RunCairn("ls --json " + Quoted(root_)).json();
  ASSERT_EQ(json["temporaries"].size(), 1u);
  EXPECT_EQ(json["temporaries"][0]["final_name"], "6");
  EXPECT_EQ(json["temporaries"][0]["writer"], "alive");
  ASSERT_EQ(json["skipped"].size(), 1u);
  EXPECT_EQ(json["skipped"][0]["name"], "9");
}

TEST_F(CliListingTest, LsWithPoliciesSaysWhichStepsWouldGo) {
  const nlohmann::json json =
      RunCairn("ls --json --keep-latest 2 --keep-best loss:max:1 " + Quoted(root_)).json();
  std::vector<bool> retire;
  for (const nlohmann::json& step : json["steps"]) retire.push_back(step["retire"]);
  // 1 is the best by max loss, 2 is leased, 4 and 5 are the latest two.
  EXPECT_EQ(retire, (std::vector<bool>{false, false, true, false, false}));
  EXPECT_EQ(json["steps"][0]["kept_by"], nlohmann::json({"keep-best loss:max:1"}));
}

TEST_F(CliListingTest, LsTextHasATableRowPerStep) {
  const CliResult result = RunCairn("ls " + Quoted(root_));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("STEP"), std::string::npos);
  EXPECT_NE(result.out.find("5 steps"), std::string::npos) << result.out;
}

TEST_F(CliListingTest, LsOfAMissingRootIsTrouble) {
  const CliResult result = RunCairn("ls " + Quoted(root_ + "/absent"));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("absent"), std::string::npos) << result.err;
}

TEST_F(CliListingTest, InspectGivesEachArraysDtypeShapeAndStorage) {
  const CliResult result = RunCairn("inspect --json " + Quoted(root_ + "/3"));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json json = result.json();
  EXPECT_EQ(json["kind"], "checkpoint");
  EXPECT_DOUBLE_EQ(json["metrics"]["loss"].get<double>(), 1.0 / 3);
  const nlohmann::json& entries = json["pytrees"]["pytree"]["entries"];
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0]["path"], "params.w");
  EXPECT_EQ(entries[0]["dtype"], "float32");
  EXPECT_EQ(entries[0]["shape"], nlohmann::json({32, 16}));
  EXPECT_EQ(entries[0]["stored_dtype"], "float32");
  EXPECT_EQ(entries[0]["compression"], "none");
  EXPECT_EQ(entries[0]["bytes"], 32 * 16 * 4);
  EXPECT_EQ(entries[2]["kind"], "int");
}

TEST_F(CliListingTest, InspectFilterKeepsMatchingKeyPaths) {
  const nlohmann::json json =
      RunCairn("inspect --json --filter 'params.*' " + Quoted(root_ + "/3")).json();
  const nlohmann::json& entries = json["pytrees"]["pytree"]["entries"];
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1]["path"], "params.b");
}

TEST_F(CliListingTest, InspectPrefixFilterSelectsASubtree) {
  const nlohmann::json json =
      RunCairn("inspect --json --filter params " + Quoted(root_ + "/3")).json();
  EXPECT_EQ(json["pytrees"]["pytree"]["entries"].size(), 2u);
}

TEST_F(CliListingTest, InspectDepthGroupsDeeperLeaves) {
  const nlohmann::json json = RunCairn("inspect --json --depth 1 " + Quoted(root_ + "/3")).json();
  const nlohmann::json& entries = json["pytrees"]["pytree"]["entries"];
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0]["kind"], "group");
  EXPECT_EQ(entries[0]["leaves"], 2);
  EXPECT_EQ(entries[0]["bytes"], (32 * 16 + 16) * 4);
}

TEST(CliLayoutTest, StepPrefixFindsPrefixedSteps) {
  TempDir tmp;
  ASSERT_TRUE(Save(tmp.Join("ckpt_7"), Tree::Int(7)).ok());
  const nlohmann::json json = RunCairn("ls --json --step-prefix ckpt " + Quoted(tmp.path())).json();
  ASSERT_EQ(json["steps"].size(), 1u);
  EXPECT_EQ(json["steps"][0]["step"], 7);
  EXPECT_EQ(RunCairn("ls --json " + Quoted(tmp.path())).json()["steps"].size(), 0u);
}

TEST_F(CliListingTest, AnUnknownFlagIsAUsageError) {
  EXPECT_EQ(RunCairn("ls --no-such-flag " + Quoted(root_)).exit_code, 2);
}

TEST_F(CliListingTest, HelpOnASubcommandShowsExamples) {
  const CliResult result = RunCairn("prune --help");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("Examples"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace cairn::testing
