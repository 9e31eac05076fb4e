// `cairn inspect DIR`: what a step (or a tree directory) holds: each array's dtype, shape,
// storage dtype, chunking, compression and bytes, scalars' types, and the custom metadata.
#include <fnmatch.h>

#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cairn/storage/dtype.h"
#include "cairn/storage/shape.h"
#include "cairn/storage/tree_comparison.h"
#include "checkpoint_trees.h"
#include "commands.h"
#include "output.h"

namespace cairn::cli {
namespace {

struct InspectFlags {
  std::string dir;
  bool json = false;
  int depth = 0;  // 0: every leaf
  std::string filter;
};

// Whether `path` is selected by `filter`: a glob over the whole key path, or a prefix of it
// that ends at a key boundary ("params" selects "params.w" and "params[0]").
bool Selected(const std::string& path, const std::string& filter) {
  if (filter.empty()) return true;
  if (fnmatch(filter.c_str(), path.c_str(), 0) == 0) return true;
  if (!absl::StartsWith(path, filter)) return false;
  return path.size() == filter.size() || path[filter.size()] == '.' || path[filter.size()] == '[' ||
         filter.back() == '.';
}

// The key path cut after `depth` entries (all of it when depth is 0 or it is shorter).
KeyPath Truncated(const KeyPath& path, int depth) {
  if (depth <= 0 || static_cast<int>(path.entries().size()) <= depth) return path;
  KeyPath out;
  for (int i = 0; i < depth; ++i) {
    const KeyPath::Entry& entry = path.entries()[i];
    if (entry.is_index) {
      out.Push(entry.index);
    } else {
      out.Push(entry.key);
    }
  }
  return out;
}

std::string CompressionOf(const ArrayStorageInfo& storage) {
  if (!storage.compressed) return "none";
  return absl::StrCat("zstd-", storage.compression_level, storage.byte_shuffled ? "+shuffle" : "");
}

nlohmann::json LeafJson(const std::string& path, const Tree& leaf) {
  nlohmann::json json = {{"path", path}, {"kind", NodeKindName(leaf)}};
  if (leaf.kind() != Tree::Kind::kArraySpec) return json;
  const ArraySpec& spec = leaf.spec();
  if (spec.dtype) json["dtype"] = std::string(DTypeName(*spec.dtype));
  if (spec.shape) {
    json["shape"] = *spec.shape;
    if (spec.dtype) json["bytes"] = ByteSize(*spec.dtype, *spec.shape).value_or(0);
  }
  if (spec.storage) {
    json["stored_dtype"] = std::string(DTypeName(spec.storage->stored_dtype));
    json["chunk_shape"] = spec.storage->chunk_shape;
    json["compression"] = CompressionOf(*spec.storage);
    json["stored_bytes"] = spec.storage->stored_bytes;
    json["shards"] = spec.storage->num_shards;
  }
  return json;
}

// A group of leaves below a key path cut at --depth.
struct Group {
  uint64_t leaves = 0;
  uint64_t bytes = 0;
  uint64_t stored_bytes = 0;
};

nlohmann::json TreeJson(const PyTreeOf& tree, const InspectFlags& flags) {
  nlohmann::json entries = nlohmann::json::array();
  std::map<std::string, Group> groups;
  std::vector<std::string> group_order;
  tree.metadata.tree.ForEachLeaf([&](const KeyPath& path, const Tree& leaf) {
    if (leaf.kind() == Tree::Kind::kNone) return;
    const std::string text = path.ToString();
    if (!Selected(text, flags.filter)) return;
    const KeyPath cut = Truncated(path, flags.depth);
    nlohmann::json json = LeafJson(text, leaf);
    if (cut == path) {
      entries.push_back(std::move(json));
      return;
    }
    const std::string key = cut.ToString();
    auto [it, added] = groups.try_emplace(key);
    if (added) {
      group_order.push_back(key);
      entries.push_back({{"path", key}, {"kind", "group"}});
    }
    ++it->second.leaves;
    it->second.bytes += json.value("bytes", uint64_t{0});
    it->second.stored_bytes += json.value("stored_bytes", uint64_t{0});
  });
  for (nlohmann::json& entry : entries) {
    if (entry["kind"] != "group") continue;
    const Group& group = groups[entry["path"].get<std::string>()];
    entry["leaves"] = group.leaves;
    entry["bytes"] = group.bytes;
    entry["stored_bytes"] = group.stored_bytes;
  }
  return {{"handler", tree.handler},
          {"format_version", tree.metadata.format_version},
          {"writer", tree.metadata.writer},
          {"data_bytes", tree.metadata.data_bytes},
          {"custom_metadata", tree.metadata.custom_metadata},
          {"entries", entries}};
}

std::string ShapeText(const nlohmann::json& shape) {
  std::vector<int64_t> dims = shape.get<std::vector<int64_t>>();
  return ShapeToString(dims);
}

// Stored bytes, or "-" where the format does not record them (Orbax's arrays).
std::string OnDisk(const nlohmann::json& entry) {
  const uint64_t stored = entry.value("stored_bytes", uint64_t{0});
  if (stored == 0 && entry.value("bytes", uint64_t{0}) > 0) return "-";
  return FormatBytes(stored);
}

void PrintTree(const std::string& name, const nlohmann::json& tree) {
  std::cout << "\n" << (name.empty() ? "pytree" : name);
  if (!tree["handler"].get<std::string>().empty())
    std::cout << " (" << tree["handler"].get<std::string>() << ")";
  std::cout << ": " << FormatBytes(tree["data_bytes"].get<uint64_t>()) << " of data";
  if (!tree["writer"].get<std::string>().empty())
    std::cout << ", written by " << tree["writer"].get<std::string>();
  std::cout << "\n";
  if (!tree["custom_metadata"].is_null() && !tree["custom_metadata"].empty()) {
    std::cout << "  custom metadata: " << CompactJson(tree["custom_metadata"]) << "\n";
  }
  Table table({"KEY", "DTYPE", "SHAPE", "STORED AS", "CHUNK", "COMPRESSION", "BYTES", "ON DISK"});
  for (const nlohmann::json& entry : tree["entries"]) {
    const std::string kind = entry["kind"];
    if (kind == "group") {
      table.AddRow({entry["path"], absl::StrCat("(", entry["leaves"].get<uint64_t>(), " leaves)"),
                    "", "", "", "", FormatBytes(entry["bytes"]),
                    FormatBytes(entry["stored_bytes"])});
    } else if (kind == "array" && entry.contains("dtype")) {
      table.AddRow({entry["path"], entry["dtype"], ShapeText(entry["shape"]),
                    entry.value("stored_dtype", "-"),
                    entry.contains("chunk_shape") ? ShapeText(entry["chunk_shape"]) : "-",
                    entry.value("compression", "-"), FormatBytes(entry.value("bytes", uint64_t{0})),
                    OnDisk(entry)});
    } else {
      table.AddRow({entry["path"], kind, "", "", "", "", "", ""});
    }
  }
  std::cout << table.ToString();
}

void RunInspect(const InspectFlags& flags) {
  absl::StatusOr<DirectoryTrees> trees = ReadDirectoryTrees(flags.dir);
  if (!trees.ok()) Fail(flags.dir, trees.status());
  nlohmann::json json = {{"dir", flags.dir}, {"kind", trees->is_tree_dir ? "tree" : "checkpoint"}};
  if (trees->metadata) {
    const CheckpointMetadata& metadata = *trees->metadata;
    json["commit_time"] = metadata.commit_time() ? nlohmann::json(JsonTime(*metadata.commit_time()))
                                                 : nlohmann::json();
    json["metrics"] = metadata.metrics;
    json["custom_metadata"] = metadata.custom_metadata;
  }
  nlohmann::json pytrees = nlohmann::json::object();
  for (const auto& [name, tree] : trees->pytrees) pytrees[name] = TreeJson(tree, flags);
  json["pytrees"] = pytrees;
  json["other_checkpointables"] = trees->other_items;
  if (flags.json) {
    PrintJson(json);
    return;
  }
  std::cout << flags.dir << ": " << (trees->is_tree_dir ? "tree directory" : "checkpoint") << "\n";
  if (trees->metadata) {
    if (trees->metadata->commit_time()) {
      std::cout << "  committed: " << FormatLocalTime(*trees->metadata->commit_time()) << "\n";
    }
    if (!trees->metadata->metrics.empty()) {
      std::cout << "  metrics: " << CompactJson(trees->metadata->metrics) << "\n";
    }
    if (!trees->metadata->custom_metadata.empty()) {
      std::cout << "  custom metadata: " << CompactJson(trees->metadata->custom_metadata) << "\n";
    }
  }
  for (const auto& [name, handler] : trees->other_items) {
    std::cout << "  " << name << ": " << handler << "\n";
  }
  for (const auto& [name, tree] : pytrees.items()) PrintTree(name, tree);
}

}  // namespace

void RegisterInspectCommand(CLI::App& app) {
  auto flags = std::make_shared<InspectFlags>();
  CLI::App* command = app.add_subcommand(
      "inspect",
      "Show what a step (or a tree directory) holds: per array dtype, shape, storage dtype, "
      "chunking, compression and bytes; metrics and custom metadata.\n\nExamples:\n"
      "  cairn inspect /ckpt/run/300\n"
      "  cairn inspect /ckpt/run/300 --depth 2\n"
      "  cairn inspect /ckpt/run/300 --filter 'params.*.kernel'\n"
      "  cairn inspect /ckpt/run/300 --filter opt_state --json");
  command->add_option("DIR", flags->dir, "A step or a tree directory")->required();
  command->add_flag("--json", flags->json, "Print JSON for scripts");
  command->add_option("--depth", flags->depth, "Group leaves below this many keys (0: all)")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--filter", flags->filter,
                      "Only key paths matching this glob, or below this prefix");
  command->callback([flags] { RunInspect(*flags); });
}

}  // namespace cairn::cli
