// Opening Checkpointers in tests, and looking at what a directory holds.
#ifndef CAIRN_TESTS_SUPPORT_CHECKPOINTERS_H_
#define CAIRN_TESTS_SUPPORT_CHECKPOINTERS_H_

#include <memory>
#include <string>
#include <vector>

#include "cairn/manager/checkpointer.h"

namespace cairn::testing {

// The Checkpointer of `root`; null (with a test failure) if it cannot be created.
std::unique_ptr<Checkpointer> OpenCheckpointer(const std::string& root,
                                               CheckpointerOptions options = CheckpointerOptions());

// The names of the entries in `dir` on the real filesystem, sorted.
std::vector<std::string> EntryNames(const std::string& dir);

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_SUPPORT_CHECKPOINTERS_H_
