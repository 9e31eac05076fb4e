// What cairn's own reader loads from an Orbax-format pytree, written where zarrita_check.mjs
// compares it with what zarrita reads of the same arrays: OUT/manifest.json (each array's stored
// name, dtype and shape) and OUT/expected/<name>.raw (its bytes). Scalars count as 0-d arrays.
//   orbax_step_expect PYTREE_DIR OUT
#include <cstdio>
#include <fstream>
#include <string>

#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "nlohmann/json.hpp"

namespace {

bool Write(const std::string& path, const void* data, size_t size) {
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s PYTREE_DIR OUT\n", argv[0]);
    return 2;
  }
  const std::string out = argv[2];
  absl::StatusOr<cairn::Tree> tree = cairn::LoadTree(argv[1]);
  if (!tree.ok()) {
    std::fprintf(stderr, "loading %s: %s\n", argv[1], tree.status().ToString().c_str());
    return 1;
  }
  cairn::Filesystem& fs = *cairn::Filesystem::Default();
  if (!cairn::CreateDirs(fs, cairn::JoinPath(out, "expected")).ok()) return 1;
  nlohmann::json manifest = nlohmann::json::array();
  bool ok = true;
  tree->ForEachLeaf([&](const cairn::KeyPath& path, const cairn::Tree& leaf) {
    std::string name;
    for (const cairn::KeyPath::Entry& entry : path.entries()) {
      if (!name.empty()) name.push_back('.');
      name += entry.is_index ? std::to_string(entry.index) : entry.key;
    }
    const std::string raw = cairn::JoinPath(out, "expected/" + name + ".raw");
    if (leaf.kind() == cairn::Tree::Kind::kArray) {
      const cairn::Array& array = leaf.array();
      manifest.push_back({{"path", name},
                          {"dtype", std::string(cairn::DTypeName(array.dtype()))},
                          {"shape", array.shape()}});
      ok = ok && Write(raw, array.data(), array.byte_size());
    } else if (leaf.kind() == cairn::Tree::Kind::kInt) {
      const int64_t value = leaf.int_value();
      manifest.push_back({{"path", name}, {"dtype", "int64"}, {"shape", nlohmann::json::array()}});
      ok = ok && Write(raw, &value, sizeof(value));
    } else if (leaf.kind() == cairn::Tree::Kind::kDouble) {
      const double value = leaf.double_value();
      manifest.push_back(
          {{"path", name}, {"dtype", "float64"}, {"shape", nlohmann::json::array()}});
      ok = ok && Write(raw, &value, sizeof(value));
    }
  });
  const std::string text = manifest.dump(1);
  ok = ok && Write(cairn::JoinPath(out, "manifest.json"), text.data(), text.size());
  std::printf("%zu arrays of %s\n", manifest.size(), argv[1]);
  return ok ? 0 : 1;
}
