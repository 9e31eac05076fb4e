// `cairn verify` draws a progress bar with bytes and throughput on a terminal: run in a tmux
// pane (a real pseudo-terminal) on a 64 MiB checkpoint, with the pane's output logged raw.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "cairn/steps/checkpoint.h"
#include "gtest/gtest.h"
#include "tests/cli/cli_runner.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn::testing {
namespace {

int Shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(CliProgressBarTest, VerifyOnATerminalDrawsBytesAndThroughput) {
  if (Shell("command -v tmux >/dev/null") != 0) GTEST_SKIP() << "tmux is not installed";
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(Iota<float>({16, 1024, 1024})));  // 64 MiB
  ASSERT_TRUE(Save(tmp.Join("1"), tree).ok());
  const std::string socket = "cairn-cli-test-" + std::to_string(::getpid());
  const std::string tmux = "env TERM=xterm tmux -L " + socket + " ";
  const std::string log = tmp.Join("pane.log");
  ASSERT_EQ(Shell(tmux + "new-session -d -s verify -x 160 -y 20"), 0);
  ASSERT_EQ(Shell(tmux + "pipe-pane -o -t verify " + Quoted("cat >> " + Quoted(log))), 0);
  const std::string command = std::string(CAIRN_CLI_BINARY) + " verify " + Quoted(tmp.Join("1")) +
                              "; tmux -L " + socket + " wait-for -S verified";
  ASSERT_EQ(Shell(tmux + "send-keys -t verify " + Quoted(command) + " Enter"), 0);
  const int waited = Shell("timeout 60 " + tmux + "wait-for verified");
  Shell(tmux + "kill-server");
  ASSERT_EQ(waited, 0) << "verify did not finish in the pane";
  std::ifstream in(log);
  const std::string pane((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(pane.find("[#"), std::string::npos) << pane;
  EXPECT_NE(pane.find("100%"), std::string::npos) << pane;
  EXPECT_NE(pane.find("64.0 MiB / 64.0 MiB"), std::string::npos) << pane;
  EXPECT_NE(pane.find("/s"), std::string::npos) << pane;
  EXPECT_NE(pane.find("intact"), std::string::npos) << pane;
}

}  // namespace
}  // namespace cairn::testing
