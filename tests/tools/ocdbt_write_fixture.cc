// Writes OCDBT databases with the library writer for tests/tools/ocdbt_dump_check.py, which
// decodes them with an independent Python decoder: each database `<out>/<name>` comes with
// `<out>/<name>.values/<key as hex>` holding the value put under the key.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cairn/storage/ocdbt/ocdbt_merged_root.h"
#include "cairn/storage/ocdbt/ocdbt_writer.h"

namespace {

using Contents = std::map<std::string, std::string>;

std::string Hex(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) absl::StrAppendFormat(&out, "%02x", c);
  return out;
}

// Bytes that differ from key to key and from position to position.
std::string ValueFor(const std::string& key, size_t size) {
  std::string value(size, '\0');
  uint32_t state = 2166136261u;
  for (unsigned char c : key) state = (state ^ c) * 16777619u;
  for (size_t i = 0; i < size; ++i) {
    state = state * 1103515245u + 12345u;
    value[i] = static_cast<char>(state >> 16);
  }
  return value;
}

bool WriteValues(const std::string& out, const std::string& name, const Contents& kvs) {
  const std::string dir = absl::StrCat(out, "/", name, ".values");
  std::filesystem::create_directories(dir);
  for (const auto& [key, value] : kvs) {
    std::ofstream file(absl::StrCat(dir, "/", Hex(key)), std::ios::binary);
    file.write(value.data(), static_cast<std::streamsize>(value.size()));
    if (!file) return false;
  }
  return true;
}

bool WriteDatabase(const std::string& dir, const Contents& kvs,
                   const cairn::OcdbtWriterOptions& options) {
  auto writer = cairn::OcdbtWriter::Create(dir, options);
  if (!writer.ok()) {
    std::fprintf(stderr, "%s\n", writer.status().ToString().c_str());
    return false;
  }
  for (const auto& [key, value] : kvs) {
    absl::Status put = (*writer)->Put(key, value);
    if (!put.ok()) {
      std::fprintf(stderr, "%s\n", put.ToString().c_str());
      return false;
    }
  }
  absl::Status finish = (*writer)->Finish();
  if (!finish.ok()) std::fprintf(stderr, "%s\n", finish.ToString().c_str());
  return finish.ok();
}

// Orbax-like keys: zarr metadata inline, chunks of every size around the inline limit and far
// past it, long shared prefixes, an empty value.
Contents Mixed(int params) {
  Contents kvs;
  const size_t sizes[] = {0, 1, 100, 1023, 1024, 1025, 4096, 70000};
  for (int p = 0; p < params; ++p) {
    const std::string name =
        absl::StrFormat("opt_state.%s.layer%04d.kernel", std::string(p % 3 * 40, 'm'), p);
    kvs[name + "/zarr.json"] = absl::StrCat("{\"shape\":[", p, "]}");
    for (int c = 0; c < 4; ++c) {
      const std::string key = absl::StrCat(name, "/c/", c);
      kvs[key] = ValueFor(key, sizes[(p + c) % 8]);
    }
  }
  return kvs;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string out = argv[1];
  cairn::OcdbtWriterOptions options;
  options.sync = false;
  // Small nodes and data files: trees of several levels and many files from few keys.
  cairn::OcdbtWriterOptions small = options;
  small.target_node_bytes = 2048;
  small.target_data_file_bytes = 64 << 10;
  cairn::OcdbtWriterOptions uncompressed = small;
  uncompressed.config.compression = cairn::OcdbtConfig::Compression::kNone;

  const Contents mixed = Mixed(1500);
  bool ok = WriteDatabase(out + "/empty", {}, options) && WriteValues(out, "empty", {}) &&
            WriteDatabase(out + "/one", {{"a/zarr.json", "{}"}}, options) &&
            WriteValues(out, "one", {{"a/zarr.json", "{}"}}) &&
            WriteDatabase(out + "/mixed", mixed, small) && WriteValues(out, "mixed", mixed) &&
            WriteDatabase(out + "/uncompressed", mixed, uncompressed) &&
            WriteValues(out, "uncompressed", mixed);
  // Three processes whose keys interleave, and the root over them.
  std::vector<std::string> subdirs;
  for (int p = 0; ok && p < 3; ++p) {
    Contents mine;
    for (const auto& [key, value] : mixed) {
      if (std::hash<std::string>()(key) % 3 == static_cast<size_t>(p)) mine[key] = value;
    }
    subdirs.push_back(absl::StrCat("ocdbt.process_", p));
    ok = WriteDatabase(absl::StrCat(out, "/merged/", subdirs.back()), mine, small);
  }
  if (ok) {
    absl::Status merged = cairn::WriteMergedOcdbtRoot(out + "/merged", subdirs, small);
    if (!merged.ok()) std::fprintf(stderr, "%s\n", merged.ToString().c_str());
    ok = merged.ok() && WriteValues(out, "merged", mixed);
  }
  return ok ? 0 : 1;
}
