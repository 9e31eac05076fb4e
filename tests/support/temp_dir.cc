#include "tests/support/temp_dir.h"

#include <stdlib.h>

#include <filesystem>

#include "gtest/gtest.h"

namespace cairn::testing {

TempDir::TempDir() {
  std::string pattern = ::testing::TempDir() + "cairn-test-XXXXXX";
  char* made = mkdtemp(pattern.data());
  EXPECT_NE(made, nullptr) << "mkdtemp failed for " << pattern;
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace cairn::testing
