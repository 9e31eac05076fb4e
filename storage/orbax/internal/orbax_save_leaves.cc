#include "cairn/storage/orbax/internal/orbax_save_leaves.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cairn/utils/status_macros.h"

namespace cairn::internal {
namespace {

absl::Status Refuse(const KeyPath& path, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("cannot save ", path.ToString(), " in Orbax's format: ", why));
}

// Names a pytree directory holds beside its arrays in the per-leaf layout.
bool IsReservedName(absl::string_view name) {
  static const std::set<std::string>* const kReserved =
      new std::set<std::string>{"_METADATA",
                                "_sharding",
                                "_strings.json",
                                "array_metadatas",
                                "d",
                                "manifest.ocdbt",
                                "_CHECKPOINT_METADATA",
                                "commit_success.txt",
                                "orbax.checkpoint"};
  return kReserved->count(std::string(name)) > 0 || absl::StartsWith(name, "ocdbt.process_") ||
         absl::StartsWith(name, "_cairn") || absl::StartsWith(name, "_CAIRN");
}

class Flattener {
 public:
  Flattener(OrbaxArrayType array_type, StoreLayout layout)
      : array_type_(array_type), layout_(layout) {}

  absl::Status Walk(const Tree& node, KeyPath& path, std::vector<std::string>& names) {
    switch (node.kind()) {
      case Tree::Kind::kDict: {
        if (node.size() == 0) return Leaf(node, path, names, "Dict", true);
        // JAX flattens a dict in sorted key order; Orbax records its leaves in that order.
        std::vector<size_t> order(node.size());
        std::iota(order.begin(), order.end(), 0);
        std::sort(order.begin(), order.end(),
                  [&](size_t a, size_t b) { return node.keys()[a] < node.keys()[b]; });
        for (const size_t i : order) {
          const std::string& key = node.keys()[i];
          path.Push(key);
          if (key.empty()) return Refuse(path, "an empty dict key has no stored name");
          if (key.find('/') != std::string::npos) {
            return Refuse(path, "a dict key holding '/' would split the array's stored name");
          }
          names.push_back(key);
          CAIRN_RETURN_IF_ERROR(Walk(node[i], path, names));
          names.pop_back();
          path.Pop();
        }
        return absl::OkStatus();
      }
      case Tree::Kind::kList:
      case Tree::Kind::kTuple: {
        if (node.size() == 0) {
          return Leaf(node, path, names, node.kind() == Tree::Kind::kList ? "List" : "Tuple", true);
        }
        for (size_t i = 0; i < node.size(); ++i) {
          path.Push(i);
          names.push_back(std::to_string(i));
          CAIRN_RETURN_IF_ERROR(Walk(node[i], path, names));
          names.pop_back();
          path.Pop();
        }
        return absl::OkStatus();
      }
      case Tree::Kind::kNone:
        return Leaf(node, path, names, "None", true);
      case Tree::Kind::kArray:
        return Leaf(node, path, names,
                    array_type_ == OrbaxArrayType::kJax ? "jax.Array" : "np.ndarray", false);
      case Tree::Kind::kInt:
      case Tree::Kind::kDouble:
      case Tree::Kind::kBool:
        return Leaf(node, path, names, "scalar", false);
      case Tree::Kind::kString:
        return Leaf(node, path, names, "string", false);
      case Tree::Kind::kBytes:
        return Refuse(path, "Orbax has no bytes leaf; store the bytes as a uint8 array instead");
      default:
        return Refuse(path, absl::StrCat("a ", TreeKindName(node.kind()),
                                         " leaf describes a value; save the value itself"));
    }
  }

  std::vector<OrbaxSaveLeaf> Take() { return std::move(leaves_); }

 private:
  absl::Status Leaf(const Tree& node, const KeyPath& path, const std::vector<std::string>& names,
                    std::string value_type, bool skip) {
    if (path.is_root()) {
      return Refuse(path,
                    "Orbax stores a tree whose root is a dict, list or tuple; put the value "
                    "under a key");
    }
    OrbaxSaveLeaf leaf;
    leaf.path = path;
    for (size_t i = 0; i < names.size(); ++i) {
      if (i > 0) leaf.param_name.push_back('.');
      leaf.param_name.append(names[i]);
    }
    if (layout_ == StoreLayout::kPerLeaf && !skip &&
        (leaf.param_name == "." || leaf.param_name == ".." || IsReservedName(leaf.param_name))) {
      return Refuse(path, absl::StrCat("its stored name \"", leaf.param_name,
                                       "\" is a name the pytree directory itself uses"));
    }
    const auto [it, added] = by_name_.emplace(leaf.param_name, path.ToString());
    if (!added) {
      return Refuse(path, absl::StrCat("its stored name \"", leaf.param_name, "\" is also ",
                                       it->second, "'s (keys are joined with '.')"));
    }
    leaf.value_type = std::move(value_type);
    leaf.skip_deserialize = skip;
    leaf.node = &node;
    leaves_.push_back(std::move(leaf));
    return absl::OkStatus();
  }

  const OrbaxArrayType array_type_;
  const StoreLayout layout_;
  std::vector<OrbaxSaveLeaf> leaves_;
  std::map<std::string, std::string> by_name_;
};

}  // namespace

absl::StatusOr<std::vector<OrbaxSaveLeaf>> FlattenForOrbax(const Tree& tree,
                                                           OrbaxArrayType array_type,
                                                           StoreLayout layout) {
  if (tree.kind() == Tree::Kind::kDict && tree.size() == 0) return std::vector<OrbaxSaveLeaf>();
  Flattener flattener(array_type, layout);
  KeyPath path;
  std::vector<std::string> names;
  CAIRN_RETURN_IF_ERROR(flattener.Walk(tree, path, names));
  return flattener.Take();
}

}  // namespace cairn::internal
