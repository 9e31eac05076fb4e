#include "tests/support/checkpointers.h"

#include <algorithm>
#include <filesystem>

#include "gtest/gtest.h"

namespace cairn::testing {

std::unique_ptr<Checkpointer> OpenCheckpointer(const std::string& root,
                                               CheckpointerOptions options) {
  absl::StatusOr<std::unique_ptr<Checkpointer>> checkpointer =
      Checkpointer::Create(root, std::move(options));
  EXPECT_TRUE(checkpointer.ok()) << checkpointer.status();
  return checkpointer.ok() ? *std::move(checkpointer) : nullptr;
}

std::vector<std::string> EntryNames(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace cairn::testing
