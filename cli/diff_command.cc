// `cairn diff A B`: how two steps (or tree directories) differ: keys only in one, kind changes,
// and per array equal, or the largest absolute and relative difference, or different
// dtype/shape. Arrays are read one leaf at a time, so memory stays near two arrays. Exit status
// as diff(1): 0 same, 1 different, 2 trouble.
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cairn/storage/dtype.h"
#include "cairn/storage/shape.h"
#include "cairn/storage/tree_comparison.h"
#include "checkpoint_trees.h"
#include "commands.h"
#include "output.h"

namespace cairn::cli {
namespace {

struct DiffFlags {
  std::string a;
  std::string b;
  bool json = false;
  bool quiet = false;  // only the differences
};

std::string Qualified(const std::string& tree, const KeyPath& path) {
  if (tree.empty()) return path.ToString();
  return path.is_root() ? tree : absl::StrCat(tree, "/", path.ToString());
}

std::string SpecText(const ArraySpec& spec) {
  return absl::StrCat(spec.dtype ? DTypeName(*spec.dtype) : "?",
                      spec.shape ? ShapeToString(*spec.shape) : "?");
}

// Finds the loaded counterpart of `leaf` (a node of `metadata`) in `loaded`, which mirrors it.
const Tree* Counterpart(const Tree& metadata, const Tree& loaded, const Tree* leaf) {
  if (&metadata == leaf) return &loaded;
  if (!metadata.is_container() || metadata.size() != loaded.size()) return nullptr;
  for (size_t i = 0; i < metadata.size(); ++i) {
    if (const Tree* found = Counterpart(metadata[i], loaded[i], leaf)) return found;
  }
  return nullptr;
}

absl::StatusOr<Tree> LoadLeaf(const std::string& dir, const PyTreeOf& tree, const Tree* leaf) {
  absl::StatusOr<Tree> loaded =
      LoadSelected(dir, tree, [leaf](const Tree& node) { return &node == leaf; });
  if (!loaded.ok()) return loaded.status();
  const Tree* found = Counterpart(tree.metadata.tree, *loaded, leaf);
  if (found == nullptr) return absl::InternalError("the loaded tree lost its structure");
  return Tree(*found);
}

class Differ {
 public:
  explicit Differ(const DiffFlags& flags) : flags_(flags) {}

  void Run() {
    absl::StatusOr<DirectoryTrees> a = ReadDirectoryTrees(flags_.a);
    if (!a.ok()) Fail(flags_.a, a.status());
    absl::StatusOr<DirectoryTrees> b = ReadDirectoryTrees(flags_.b);
    if (!b.ok()) Fail(flags_.b, b.status());
    for (const auto& [name, tree] : a->pytrees) {
      if (!b->pytrees.count(name)) Structure("only_in_a", name.empty() ? "pytree" : name);
    }
    for (const auto& [name, tree] : b->pytrees) {
      if (!a->pytrees.count(name)) Structure("only_in_b", name.empty() ? "pytree" : name);
    }
    for (const auto& [name, tree_a] : a->pytrees) {
      const auto it = b->pytrees.find(name);
      if (it != b->pytrees.end()) CompareTrees(name, tree_a, it->second);
    }
    if (flags_.json) {
      PrintJson({{"a", flags_.a},
                 {"b", flags_.b},
                 {"same", !different_},
                 {"equal_leaves", equal_},
                 {"differences", differences_}});
    } else {
      std::cout << (different_ ? "different" : "same") << ": " << equal_ << " leaves equal, "
                << differences_.size() << " difference" << (differences_.size() == 1 ? "" : "s")
                << "\n";
    }
    if (different_) Exit(kExitNo);
  }

 private:
  void Structure(const std::string& kind, const std::string& path, std::string detail = "") {
    different_ = true;
    differences_.push_back({{"kind", kind}, {"path", path}});
    if (!detail.empty()) differences_.back()["detail"] = detail;
    if (flags_.json) return;
    if (kind == "only_in_a") std::cout << "only in A: " << path << "\n";
    if (kind == "only_in_b") std::cout << "only in B: " << path << "\n";
    if (kind == "kind_changed") std::cout << "kind changed: " << path << ": " << detail << "\n";
  }

  void CompareTrees(const std::string& name, const PyTreeOf& a, const PyTreeOf& b) {
    const StructureDifference structure = CompareStructure(a.metadata.tree, b.metadata.tree);
    for (const KeyPath& path : structure.only_in_a) Structure("only_in_a", Qualified(name, path));
    for (const KeyPath& path : structure.only_in_b) Structure("only_in_b", Qualified(name, path));
    for (const KindChange& change : structure.kind_changes) {
      Structure("kind_changed", Qualified(name, change.path),
                absl::StrCat(change.kind_a, " -> ", change.kind_b));
    }
    for (const CommonLeaf& leaf : structure.common_leaves) {
      CompareLeaf(Qualified(name, leaf.path), a, b, leaf);
    }
  }

  void CompareLeaf(const std::string& path, const PyTreeOf& a, const PyTreeOf& b,
                   const CommonLeaf& leaf) {
    if (leaf.a->kind() == Tree::Kind::kArraySpec && leaf.b->kind() == Tree::Kind::kArraySpec) {
      const ArraySpec& sa = leaf.a->spec();
      const ArraySpec& sb = leaf.b->spec();
      if (sa.dtype != sb.dtype || sa.shape != sb.shape) {
        Leaf(path,
             {{"kind", sa.dtype != sb.dtype ? "dtype_changed" : "shape_changed"},
              {"a", SpecText(sa)},
              {"b", SpecText(sb)}},
             absl::StrCat(SpecText(sa), " vs ", SpecText(sb)));
        return;
      }
    }
    absl::StatusOr<Tree> va = LoadLeaf(flags_.a, a, leaf.a);
    if (!va.ok()) Fail(absl::StrCat(flags_.a, ": ", path), va.status());
    absl::StatusOr<Tree> vb = LoadLeaf(flags_.b, b, leaf.b);
    if (!vb.ok()) Fail(absl::StrCat(flags_.b, ": ", path), vb.status());
    if (va->kind() == Tree::Kind::kArray && vb->kind() == Tree::Kind::kArray) {
      absl::StatusOr<ArrayDifference> diff = CompareArrays(va->array(), vb->array());
      if (!diff.ok()) Fail(path, diff.status());
      if (diff->equal) {
        Equal(path);
        return;
      }
      Leaf(path,
           {{"kind", "values_differ"},
            {"differing", diff->differing},
            {"elements", va->array().num_elements()},
            {"first_differing", UnravelIndex(va->array().shape(), diff->first_differing)},
            {"max_abs", diff->max_abs},
            {"max_rel", diff->max_rel}},
           absl::StrFormat("%d of %d elements differ, max abs %.6g, max rel %.6g", diff->differing,
                           va->array().num_elements(), diff->max_abs, diff->max_rel));
      return;
    }
    const std::string text_a = va->DebugString();
    const std::string text_b = vb->DebugString();
    if (text_a == text_b) {
      Equal(path);
      return;
    }
    Leaf(path, {{"kind", "values_differ"}, {"a", text_a}, {"b", text_b}},
         absl::StrCat(text_a, " vs ", text_b));
  }

  void Equal(const std::string& path) {
    ++equal_;
    if (!flags_.json && !flags_.quiet) std::cout << "equal: " << path << "\n";
  }

  void Leaf(const std::string& path, nlohmann::json difference, const std::string& text) {
    different_ = true;
    difference["path"] = path;
    differences_.push_back(std::move(difference));
    if (!flags_.json) std::cout << "differs: " << path << ": " << text << "\n";
  }

  const DiffFlags& flags_;
  bool different_ = false;
  uint64_t equal_ = 0;
  nlohmann::json differences_ = nlohmann::json::array();
};

void RunDiff(const DiffFlags& flags) {
  Differ differ(flags);
  differ.Run();
}

}  // namespace

void RegisterDiffCommand(CLI::App& app) {
  auto flags = std::make_shared<DiffFlags>();
  CLI::App* command = app.add_subcommand(
      "diff",
      "Compare two steps (or tree directories): keys only in one, kind changes, and per array "
      "equal or the max absolute and relative difference. Reads one array at a time.\n"
      "Exit status: 0 same, 1 different, 2 trouble.\n\nExamples:\n"
      "  cairn diff /ckpt/run/200 /ckpt/run/300\n"
      "  cairn diff --quiet /ckpt/a/300 /ckpt/b/300\n"
      "  cairn diff /ckpt/run/200 /ckpt/run/300 --json | jq '.differences[].path'");
  command->add_option("A", flags->a, "The first step or tree directory")->required();
  command->add_option("B", flags->b, "The second step or tree directory")->required();
  command->add_flag("--json", flags->json, "Print JSON for scripts");
  command->add_flag("-q,--quiet", flags->quiet, "Print only the differences");
  command->callback([flags] { RunDiff(*flags); });
}

}  // namespace cairn::cli
