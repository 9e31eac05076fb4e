// Running the built `cairn` binary from tests, and the training run the tests look at.
#ifndef CAIRN_TESTS_CLI_CLI_RUNNER_H_
#define CAIRN_TESTS_CLI_CLI_RUNNER_H_

#include <string>

#include "nlohmann/json.hpp"

namespace cairn::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;              // stdout
  std::string err;              // stderr
  nlohmann::json json() const;  // stdout parsed; a test failure when it is not JSON
};

// Runs `cairn <args>` (args are passed to the shell as written) with stdout and stderr piped.
CliResult RunCairn(const std::string& args);

// Quotes `text` for the shell.
std::string Quoted(const std::string& text);

// A small run under `root`, saved by a Checkpointer: steps 1 to 5, each with a "loss" metric
// and a tree {params: {w: float32[32, 16], b: float32[16]}, step: int} whose arrays change
// every step.
void MakeRun(const std::string& root);

// Flips one byte in the middle of the largest file below `dir`; returns that file's path.
std::string CorruptLargestFile(const std::string& dir);

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_CLI_CLI_RUNNER_H_
