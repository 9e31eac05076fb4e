// `cairn verify`, `diff`, `prune` and `watch` through the binary: exit codes, JSON, deletion
// that spares leased steps and the latest, and a watch ended by its timeout or by SIGINT.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>

#include "cairn/steps/lease.h"
#include "cairn/storage/pytree_store.h"
#include "gtest/gtest.h"
#include "tests/cli/cli_runner.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

extern char** environ;

namespace cairn::testing {
namespace {

class CliCheckingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.Join("run");
    MakeRun(root_);
  }
  TempDir tmp_;
  std::string root_;
};

TEST_F(CliCheckingTest, VerifyOfAnIntactStepExitsZero) {
  const CliResult result = RunCairn("verify --json " + Quoted(root_ + "/3"));
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  const nlohmann::json json = result.json();
  EXPECT_TRUE(json["intact"].get<bool>());
  EXPECT_EQ(json["checkpoints"][0]["leaves_checked"], 3);
}

TEST_F(CliCheckingTest, VerifyNamesTheDamagedFileAndExitsOne) {
  const std::string damaged = CorruptLargestFile(root_ + "/4");
  const CliResult result = RunCairn("verify --all --json " + Quoted(root_));
  ASSERT_EQ(result.exit_code, 1) << result.out << result.err;
  const nlohmann::json json = result.json();
  ASSERT_EQ(json["checkpoints"].size(), 5u);
  EXPECT_TRUE(json["checkpoints"][2]["intact"].get<bool>());
  const nlohmann::json& step4 = json["checkpoints"][3];
  EXPECT_FALSE(step4["intact"].get<bool>());
  ASSERT_EQ(step4["damage"].size(), 1u);
  const std::string problem = step4["damage"][0]["problem"];
  EXPECT_NE(problem.find(std::filesystem::path(damaged).filename().string()), std::string::npos)
      << problem;
}

TEST_F(CliCheckingTest, VerifyOfARootChecksItsLatestStep) {
  const nlohmann::json json = RunCairn("verify --json " + Quoted(root_)).json();
  ASSERT_EQ(json["checkpoints"].size(), 1u);
  EXPECT_EQ(json["checkpoints"][0]["step"], 5);
}

TEST_F(CliCheckingTest, VerifyOfAMissingDirectoryExitsTwo) {
  EXPECT_EQ(RunCairn("verify " + Quoted(root_ + "/absent")).exit_code, 2);
}

TEST_F(CliCheckingTest, VerifyPipedDrawsNoProgressBar) {
  const CliResult result = RunCairn("verify " + Quoted(root_ + "/3") + " 2>&1");
  ASSERT_EQ(result.exit_code, 0) << result.out;
  EXPECT_EQ(result.out.find('\r'), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("[#"), std::string::npos) << result.out;
}

TEST_F(CliCheckingTest, DiffOfAStepWithItselfIsSame) {
  const CliResult result =
      RunCairn("diff --json " + Quoted(root_ + "/2") + " " + Quoted(root_ + "/2"));
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(result.json()["equal_leaves"], 3);
}

TEST_F(CliCheckingTest, DiffGivesTheMaxDifferencePerArray) {
  const CliResult result =
      RunCairn("diff --json " + Quoted(root_ + "/1") + " " + Quoted(root_ + "/2"));
  ASSERT_EQ(result.exit_code, 1) << result.out << result.err;
  const nlohmann::json json = result.json();
  nlohmann::json w;
  for (const nlohmann::json& difference : json["differences"]) {
    if (difference["path"] == "pytree/params.w") w = difference;
  }
  ASSERT_FALSE(w.is_null()) << json.dump();
  // w is iota times the step: at step 1 vs 2 the largest element (511) differs by 511.
  EXPECT_DOUBLE_EQ(w["max_abs"].get<double>(), 511.0);
  EXPECT_DOUBLE_EQ(w["max_rel"].get<double>(), 0.5);
  EXPECT_EQ(w["differing"], 511);  // element 0 is 0 at every step
}

TEST_F(CliCheckingTest, DiffReportsKeysOnlyInOneAndDtypeChanges) {
  Tree a = Tree::Dict();
  a.Set("x", Tree::FromArray(Iota<float>({4})));
  a.Set("gone", Tree::Int(1));
  Tree b = Tree::Dict();
  b.Set("x", Tree::FromArray(Iota<double>({4})));
  b.Set("added", Tree::Int(1));
  ASSERT_TRUE(SaveTree(tmp_.Join("a"), a).ok());
  ASSERT_TRUE(SaveTree(tmp_.Join("b"), b).ok());
  const CliResult result =
      RunCairn("diff --json " + Quoted(tmp_.Join("a")) + " " + Quoted(tmp_.Join("b")));
  ASSERT_EQ(result.exit_code, 1) << result.out << result.err;
  const nlohmann::json json = result.json();
  std::map<std::string, std::string> kinds;
  for (const nlohmann::json& difference : json["differences"]) {
    kinds[difference["path"]] = difference["kind"];
  }
  EXPECT_EQ(kinds["gone"], "only_in_a");
  EXPECT_EQ(kinds["added"], "only_in_b");
  EXPECT_EQ(kinds["x"], "dtype_changed");
}

TEST_F(CliCheckingTest, DiffOfAMissingDirectoryExitsTwo) {
  EXPECT_EQ(RunCairn("diff " + Quoted(root_ + "/1") + " " + Quoted(root_ + "/absent")).exit_code,
            2);
}

TEST_F(CliCheckingTest, PruneIsADryRunByDefault) {
  const CliResult result = RunCairn("prune --json --keep-latest 1 " + Quoted(root_));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json json = result.json();
  EXPECT_TRUE(json["dry_run"].get<bool>());
  EXPECT_EQ(json["steps"][0]["action"], "would_delete");
  for (int step = 1; step <= 5; ++step) {
    EXPECT_TRUE(std::filesystem::exists(root_ + "/" + std::to_string(step)));
  }
}

TEST_F(CliCheckingTest, PruneYesDeletesButSparesLeasedStepsAndTheLatest) {
  absl::StatusOr<StepLease> lease = AcquireLease(root_ + "/2");
  ASSERT_TRUE(lease.ok()) << lease.status();
  const CliResult result = RunCairn("prune --yes --json --keep-every 3 " + Quoted(root_));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_FALSE(std::filesystem::exists(root_ + "/1"));
  EXPECT_TRUE(std::filesystem::exists(root_ + "/2"));  // leased
  EXPECT_TRUE(std::filesystem::exists(root_ + "/3"));  // kept by the policy
  EXPECT_FALSE(std::filesystem::exists(root_ + "/4"));
  EXPECT_TRUE(std::filesystem::exists(root_ + "/5"));  // the latest
  const nlohmann::json json = result.json();
  EXPECT_EQ(json["steps"][1]["action"], "keep");
  EXPECT_EQ(json["steps"][3]["action"], "deleted");
}

TEST_F(CliCheckingTest, PruneWithoutAPolicyIsAUsageError) {
  const CliResult result = RunCairn("prune --yes " + Quoted(root_));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(std::filesystem::exists(root_ + "/1"));
}

TEST_F(CliCheckingTest, PruneRefusesAMalformedBestPolicy) {
  EXPECT_EQ(RunCairn("prune --keep-best loss:lowest:2 " + Quoted(root_)).exit_code, 2);
}

TEST_F(CliCheckingTest, WatchPrintsTheStepsAndStopsAtItsTimeout) {
  const CliResult result = RunCairn("watch --json --timeout 300ms " + Quoted(root_));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::istringstream lines(result.out);
  std::vector<int64_t> steps;
  for (std::string line; std::getline(lines, line);) {
    steps.push_back(nlohmann::json::parse(line)["step"].get<int64_t>());
  }
  EXPECT_EQ(steps, (std::vector<int64_t>{1, 2, 3, 4, 5}));
}

TEST_F(CliCheckingTest, WatchExitsCleanlyOnSigint) {
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  const std::string binary = CAIRN_CLI_BINARY;
  std::vector<std::string> args = {binary, "watch", "--json", root_};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  // Wait (bounded) for the existing steps to be printed: the watch is running.
  std::string printed;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::count(printed.begin(), printed.end(), '\n') < 5 &&
         std::chrono::steady_clock::now() < deadline) {
    pollfd fd{out[0], POLLIN, 0};
    if (::poll(&fd, 1, 100) <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::read(out[0], buffer, sizeof(buffer));
    if (n <= 0) break;
    printed.append(buffer, static_cast<size_t>(n));
  }
  ASSERT_EQ(std::count(printed.begin(), printed.end(), '\n'), 5) << printed;
  ASSERT_EQ(::kill(pid, SIGINT), 0);
  int status = 0;
  pid_t waited = 0;
  const auto exit_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((waited = ::waitpid(pid, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < exit_deadline) {
    pollfd fd{out[0], POLLIN, 0};
    ::poll(&fd, 1, 50);  // a bounded pause while the child winds down
    char buffer[4096];
    if (fd.revents & POLLIN) ::read(out[0], buffer, sizeof(buffer));
  }
  ::close(out[0]);
  if (waited == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "watch did not stop on SIGINT";
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // Its leases went with it.
  absl::StatusOr<std::vector<LeaseInfo>> leases = ListLeases(root_ + "/5");
  ASSERT_TRUE(leases.ok());
  EXPECT_TRUE(leases->empty());
}

}  // namespace
}  // namespace cairn::testing
