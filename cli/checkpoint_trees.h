// The pytrees of a directory that is either a checkpoint (a step) or a tree directory, found
// with the library's metadata calls, and loading a few of their leaves at a time.
#ifndef CAIRN_CLI_CHECKPOINT_TREES_H_
#define CAIRN_CLI_CHECKPOINT_TREES_H_

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/checkpoint_metadata.h"
#include "cairn/storage/pytree_store.h"

namespace cairn::cli {

struct PyTreeOf {
  std::string handler;  // empty for a bare tree directory
  StoreMetadata metadata;
  std::optional<CheckpointableName> name;  // unset: `dir` is a tree directory (LoadTree)
};

struct DirectoryTrees {
  bool is_tree_dir = false;                    // a bare tree directory, not a checkpoint
  std::optional<CheckpointMetadata> metadata;  // _CHECKPOINT_METADATA of a checkpoint
  std::map<std::string, PyTreeOf> pytrees;     // by checkpointable name ("" for one lying in dir)
  std::map<std::string, std::string> other_items;  // non-pytree checkpointables: handler
};

absl::StatusOr<DirectoryTrees> ReadDirectoryTrees(const std::string& dir);

// Loads the leaves of `tree` for which `keep` is true (by node identity in tree.metadata.tree).
absl::StatusOr<Tree> LoadSelected(const std::string& dir, const PyTreeOf& tree,
                                  const std::function<bool(const Tree& leaf)>& keep);

}  // namespace cairn::cli

#endif  // CAIRN_CLI_CHECKPOINT_TREES_H_
