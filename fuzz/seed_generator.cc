// Writes the fuzzers' seed corpora from real checkpoints: saves a few representative trees and
// checkpoints through the public API into memory, then writes, below the output directory,
// index/ (index files), checkpoint_metadata/ (_CHECKPOINT_METADATA files), step_name/ (step
// names of every format) and load/ (whole directories as load fuzzer archives).
//
// Usage: cairn_fuzz_seeds <output directory>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/name_format.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "fuzz/archive.h"
#include "fuzz/step_name_input.h"

namespace cairn::fuzz {
namespace {

// Values that vary, so that compressed chunks are not trivial.
template <typename T>
Array Ramp(Shape shape, int scale) {
  uint64_t count = 1;
  for (int64_t d : shape) count *= static_cast<uint64_t>(d);
  std::vector<T> values(count);
  for (uint64_t i = 0; i < count; ++i) values[i] = static_cast<T>((i * scale) % 97);
  return Array::FromValues<T>(values, std::move(shape));
}

Array BFloat16s(Shape shape) {
  // bfloat16 bit patterns of 1.0, 2.0, -0.5 and 3.5.
  const uint16_t patterns[] = {0x3f80, 0x4000, 0xbf00, 0x4060};
  Array array = Array::Allocate(DType::kBFloat16, std::move(shape)).value();
  uint16_t* out = static_cast<uint16_t*>(array.mutable_data());
  for (uint64_t i = 0; i < array.num_elements(); ++i) out[i] = patterns[i % 4];
  return array;
}

// Dicts, lists, tuples, every scalar kind, and float32, int64 and bfloat16 arrays.
Tree TrainingState() {
  Tree tree = Tree::Dict();
  Tree& params = tree.Set("params", Tree::Dict());
  params.Set("kernel", Tree::FromArray(Ramp<float>({6, 4}, 7)));
  params.Set("bias", Tree::FromArray(Ramp<float>({4}, 3)));
  params.Set("embedding", Tree::FromArray(BFloat16s({3, 2})));
  Tree& opt = tree.Set("opt_state", Tree::List());
  opt.Append(Tree::FromArray(Ramp<int64_t>({10}, 11)));
  opt.Append(Tree::FromArray(Ramp<float>({}, 1)));
  Tree& pair = opt.Append(Tree::Tuple());
  pair.Append(Tree::Int(-7));
  pair.Append(Tree::None());
  tree.Set("step", Tree::Int(1000));
  tree.Set("lr", Tree::Double(3e-4));
  tree.Set("done", Tree::Bool(false));
  tree.Set("name", Tree::String("run-1"));
  tree.Set("blob", Tree::Bytes(std::string("\0\1\2", 3)));
  return tree;
}

// zstd for the kernel, bfloat16 on disk for the bias, small chunks for the int64 array.
StoreSaveOptions MixedStorage(MemoryFilesystem* fs, StoreLayout layout) {
  StoreSaveOptions options;
  options.filesystem = fs;
  options.layout = layout;
  options.custom_metadata = {{"model", "toy"}, {"layers", {1, 2}}};
  options.storage_options = [](const KeyPath& path, const Array&) {
    ArrayStorageOptions storage;
    const std::string name = path.ToString();
    if (name == "params.kernel") storage.compress = true;
    if (name == "params.bias") storage.dtype = DType::kBFloat16;
    if (name == "opt_state[0]") storage.chunk_bytes = 24;
    return storage;
  };
  return options;
}

void Check(const absl::Status& status, const std::string& what) {
  if (!status.ok()) {
    std::fprintf(stderr, "cairn_fuzz_seeds: %s: %s\n", what.c_str(), status.ToString().c_str());
    std::exit(1);
  }
}

void WriteSeed(const std::filesystem::path& dir, const std::string& name,
               const std::string& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) Check(absl::InternalError("cannot write"), (dir / name).string());
}

// Every step name format's spellings of a few steps, with some names that are not steps.
void WriteStepNameSeeds(const std::filesystem::path& out) {
  const std::vector<int64_t> steps = {0, 7, 123, 1000000, std::numeric_limits<int64_t>::max()};
  int n = 0;
  for (int64_t step : steps) {
    const std::vector<StepNameInput> inputs = {
        {0, "", NameFormat::Plain()->Build(step)},
        {0, "step", NameFormat::Prefixed("step")->Build(step)},
        {6, "", NameFormat::FixedLength(6)->Build(step)},
        {6, "ckpt", NameFormat::FixedLength(6, "ckpt")->Build(step)},
    };
    for (const StepNameInput& input : inputs) {
      WriteSeed(out / "step_name", absl::StrCat("name_", n++), EncodeStepNameInput(input));
    }
  }
  WriteSeed(out / "step_name", "temporary",
            EncodeStepNameInput({0, "step", "step_5.cairn-tmp.123.abc.host"}));
  WriteSeed(out / "step_name", "leading_zero", EncodeStepNameInput({3, "", "0012"}));
}

void WriteSeeds(const std::filesystem::path& out) {
  MemoryFilesystem fs;
  const Tree state = TrainingState();

  // Bare trees in both layouts.
  Check(SaveTree("/aggregated", state, MixedStorage(&fs, StoreLayout::kAggregated)), "aggregated");
  Check(SaveTree("/per_leaf", state, MixedStorage(&fs, StoreLayout::kPerLeaf)), "per_leaf");

  // Checkpoints: a pytree, a JSON document and raw bytes; and a lone pytree saved by Save.
  CheckpointOptions options;
  options.filesystem = &fs;
  options.store_save = MixedStorage(&fs, StoreLayout::kAggregated);
  options.custom_metadata = {{"run", "seed"}};
  options.metrics = {{"loss", 0.25}, {"accuracy", 0.5}};
  Checkpointables items;
  items.emplace("state", state);
  items.emplace("config", nlohmann::json{{"lr", 3e-4}, {"layers", {16, 16}}, {"name", "toy"}});
  items.emplace("notes", RawBytes{"free text"});
  Check(CreateDirs(fs, "/root"), "root");
  Check(SaveCheckpointables("/root/step_1000", items, options), "checkpointables");
  options.store_save.layout = StoreLayout::kPerLeaf;
  options.commit_mode = CommitMode::kCommitFile;
  Check(Save("/root/000042", state, options), "save");

  const std::vector<std::pair<std::string, std::string>> trees = {
      {"aggregated", "/aggregated"},
      {"per_leaf", "/per_leaf"},
      {"checkpoint_state", "/root/step_1000/state"},
      {"save_pytree", "/root/000042/pytree"}};
  for (const auto& [name, dir] : trees) {
    absl::StatusOr<std::string> index =
        ReadFileToString(fs, JoinPath(dir, kTreeIndexFileName), kMaxArchiveBytes);
    Check(index.status(), dir);
    WriteSeed(out / "index", name, *index);
  }
  for (const auto& [name, dir] :
       {std::pair<std::string, std::string>{"checkpointables", "/root/step_1000"},
        {"save", "/root/000042"}}) {
    absl::StatusOr<std::string> metadata =
        ReadFileToString(fs, JoinPath(dir, kCheckpointMetadataFileName), kMaxArchiveBytes);
    Check(metadata.status(), dir);
    WriteSeed(out / "checkpoint_metadata", name, *metadata);
  }
  for (const auto& [name, dir] : {std::pair<std::string, std::string>{"aggregated", "/aggregated"},
                                  {"per_leaf", "/per_leaf"},
                                  {"checkpointables", "/root/step_1000"},
                                  {"save", "/root/000042"}}) {
    absl::StatusOr<std::vector<ArchiveEntry>> entries = PackDirectory(fs, dir);
    Check(entries.status(), dir);
    WriteSeed(out / "load", name, EncodeArchive(Archive{0, *entries}));
  }
  WriteStepNameSeeds(out);
}

// Each case of Orbax's checkpoints in `golden` (orbax-golden/<version>/<layout>/<group>/<case>),
// packed as a load seed: the load fuzzer then reaches Orbax's metadata, the OCDBT database and
// the zarr arrays inside it.
void WriteOrbaxSeeds(const std::filesystem::path& out, const std::string& golden) {
  Filesystem& fs = *Filesystem::Default();
  int n = 0;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(golden, error);
       it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (error) break;
    if (!it->is_directory() || it.depth() != 3) continue;
    it.disable_recursion_pending();
    absl::StatusOr<std::vector<ArchiveEntry>> entries = PackDirectory(fs, it->path().string());
    if (!entries.ok() || entries->size() > kMaxArchiveEntries) continue;
    WriteSeed(out / "load", absl::StrCat("orbax_", n++), EncodeArchive(Archive{0, *entries}));
  }
}

}  // namespace
}  // namespace cairn::fuzz

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s <output directory> [directory of Orbax checkpoints]\n",
                 argv[0]);
    return 2;
  }
  cairn::fuzz::WriteSeeds(argv[1]);
  if (argc == 3) cairn::fuzz::WriteOrbaxSeeds(argv[1], argv[2]);
  return 0;
}
