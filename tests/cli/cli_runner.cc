#include "tests/cli/cli_runner.h"

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "cairn/manager/checkpointer.h"
#include "gtest/gtest.h"
#include "tests/support/trees.h"

namespace cairn::testing {

nlohmann::json CliResult::json() const {
  nlohmann::json parsed = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << out << "\nstderr: " << err;
  return parsed;
}

std::string Quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

CliResult RunCairn(const std::string& args) {
  const std::string err_path =
      std::filesystem::temp_directory_path() /
      ("cairn_cli_stderr." + std::to_string(::getpid()) + "." + std::to_string(rand()));
  const std::string command = std::string(CAIRN_CLI_BINARY) + " " + args + " 2>" + Quoted(err_path);
  CliResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run " << command;
    return result;
  }
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.out.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_path);
  result.err.assign(std::istreambuf_iterator<char>(err), std::istreambuf_iterator<char>());
  std::filesystem::remove(err_path);
  return result;
}

void MakeRun(const std::string& root) {
  CheckpointerOptions options;
  absl::StatusOr<std::unique_ptr<Checkpointer>> checkpointer = Checkpointer::Create(root, options);
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
  for (int step = 1; step <= 5; ++step) {
    Tree tree = Tree::Dict();
    Tree& params = tree.Set("params", Tree::Dict());
    Array w = Iota<float>({32, 16});
    for (float& value : w.mutable_values<float>()) value *= static_cast<float>(step);
    params.Set("w", Tree::FromArray(std::move(w)));
    Array b = Iota<float>({16});
    b.mutable_values<float>()[0] = static_cast<float>(step);
    params.Set("b", Tree::FromArray(std::move(b)));
    tree.Set("step", Tree::Int(step));
    SaveArgs args;
    args.metrics = {{"loss", 1.0 / step}};
    absl::StatusOr<bool> saved = (*checkpointer)->Save(step, tree, args);
    ASSERT_TRUE(saved.ok()) << saved.status();
    ASSERT_TRUE(*saved);
  }
  ASSERT_TRUE((*checkpointer)->Close().ok());
}

std::string CorruptLargestFile(const std::string& dir) {
  std::string largest;
  uintmax_t size = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.file_size() > size) {
      size = entry.file_size();
      largest = entry.path().string();
    }
  }
  std::fstream file(largest, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(static_cast<std::streamoff>(size / 2));
  char byte = 0;
  file.read(&byte, 1);
  byte ^= 0x5a;
  file.seekp(static_cast<std::streamoff>(size / 2));
  file.write(&byte, 1);
  return largest;
}

}  // namespace cairn::testing
