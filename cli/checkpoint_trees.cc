#include "checkpoint_trees.h"

#include "cairn/storage/tree_selection.h"
#include "cairn/utils/filesystem.h"
#include "cairn/utils/filesystem_util.h"

namespace cairn::cli {

absl::StatusOr<DirectoryTrees> ReadDirectoryTrees(const std::string& dir) {
  DirectoryTrees out;
  absl::StatusOr<bool> holds = HoldsTree(dir);
  if (!holds.ok()) return holds.status();
  absl::StatusOr<bool> has_metadata =
      PathExists(*Filesystem::Default(), JoinPath(dir, kCheckpointMetadataFileName));
  if (!has_metadata.ok()) return has_metadata.status();
  if (*holds && !*has_metadata) {
    out.is_tree_dir = true;
    absl::StatusOr<StoreMetadata> tree = ReadTreeMetadata(dir);
    if (!tree.ok()) return tree.status();
    out.pytrees[""] = PyTreeOf{"", *std::move(tree), std::nullopt};
    return out;
  }
  CheckpointOptions options;
  absl::StatusOr<CheckpointMetadata> metadata = CheckpointMetadataOf(dir, options);
  if (!metadata.ok()) return metadata.status();
  out.metadata = *std::move(metadata);
  absl::StatusOr<std::map<std::string, CheckpointableInfo>> items =
      CheckpointablesMetadata(dir, options);
  if (absl::IsFailedPrecondition(items.status())) {
    // One pytree lying directly in the checkpoint's directory.
    absl::StatusOr<StoreMetadata> tree = Metadata(dir, CheckpointableName::None(), options);
    if (!tree.ok()) return tree.status();
    out.pytrees[""] = PyTreeOf{out.metadata->direct_item_handler.value_or(""), *std::move(tree),
                               CheckpointableName::None()};
    return out;
  }
  if (!items.ok()) return items.status();
  for (auto& [name, item] : *items) {
    if (item.pytree) {
      out.pytrees[name] =
          PyTreeOf{item.handler, *std::move(item.pytree), CheckpointableName::Named(name)};
    } else {
      out.other_items[name] = item.handler;
    }
  }
  return out;
}

absl::StatusOr<Tree> LoadSelected(const std::string& dir, const PyTreeOf& tree,
                                  const std::function<bool(const Tree& leaf)>& keep) {
  const Tree abstract = SelectLeaves(tree.metadata.tree,
                                     [&](const KeyPath&, const Tree& leaf) { return keep(leaf); });
  if (!tree.name) return LoadTree(dir, abstract);
  return Load(dir, abstract, *tree.name);
}

}  // namespace cairn::cli
