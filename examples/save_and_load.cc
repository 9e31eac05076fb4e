// Saves a small training state with the pytree store and loads it back three ways: as saved,
// with an abstract tree that casts and skips, and one region of one array.
//
// Usage: save_and_load <directory>
#include <cstdio>
#include <string>
#include <vector>

#include "cairn/storage/pytree_store.h"

namespace {

cairn::Array Ramp(cairn::Shape shape, float scale) {
  cairn::Array array = cairn::Array::Allocate(cairn::DType::kFloat32, shape).value();
  float* out = static_cast<float*>(array.mutable_data());
  for (uint64_t i = 0; i < array.num_elements(); ++i) out[i] = scale * static_cast<float>(i);
  return array;
}

int Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "%s: %s\n", what, status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <directory>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];

  // The state: parameters, an optimizer state mirroring them, and counters.
  cairn::Tree state = cairn::Tree::Dict();
  cairn::Tree& params = state.Set("params", cairn::Tree::Dict());
  params.Set("embedding", cairn::Tree::FromArray(Ramp({512, 64}, 0.001f)));
  params.Set("dense", cairn::Tree::FromArray(Ramp({64, 64}, 0.01f)));
  cairn::Tree& opt = state.Set("opt_state", cairn::Tree::List());
  opt.Append(cairn::Tree::FromArray(Ramp({512, 64}, 0.0f)));
  opt.Append(cairn::Tree::FromArray(Ramp({64, 64}, 0.0f)));
  state.Set("step", cairn::Tree::Int(1000));
  state.Set("learning_rate", cairn::Tree::Double(3e-4));

  cairn::StoreSaveOptions save_options;
  save_options.custom_metadata = {{"model", "demo"}, {"version", 1}};
  // The optimizer state is mostly zeros: compress it; store parameters as they are.
  save_options.storage_options = [](const cairn::KeyPath& path, const cairn::Array&) {
    cairn::ArrayStorageOptions storage;
    if (path.ToString().rfind("opt_state", 0) == 0) storage.compress = true;
    return storage;
  };
  if (absl::Status s = cairn::SaveTree(dir, state, save_options); !s.ok()) return Fail("save", s);
  std::printf("saved %s\n", state.DebugString().c_str());

  absl::StatusOr<cairn::StoreMetadata> metadata = cairn::ReadTreeMetadata(dir);
  if (!metadata.ok()) return Fail("metadata", metadata.status());
  std::printf("metadata: %s, %llu data bytes, custom %s\n", metadata->tree.DebugString().c_str(),
              static_cast<unsigned long long>(metadata->data_bytes),
              metadata->custom_metadata.dump().c_str());

  absl::StatusOr<cairn::Tree> everything = cairn::LoadTree(dir);
  if (!everything.ok()) return Fail("load", everything.status());
  std::printf("loaded as saved: %s\n", everything->DebugString().c_str());

  // Only the parameters, the dense layer as float64; the optimizer state is never read.
  cairn::Tree abstract = cairn::Tree::Dict();
  cairn::Tree& want = abstract.Set("params", cairn::Tree::Dict());
  want.Set("embedding", cairn::Tree::AsSaved());
  cairn::ArraySpec dense;
  dense.dtype = cairn::DType::kFloat64;
  want.Set("dense", cairn::Tree::Spec(dense));
  abstract.Set("opt_state", cairn::Tree::Placeholder());
  abstract.Set("step", cairn::Tree::TypeOnly(cairn::LeafType::kInt));
  abstract.Set("learning_rate", cairn::Tree::AsSaved());
  absl::StatusOr<cairn::Tree> partial = cairn::LoadTree(dir, abstract);
  if (!partial.ok()) return Fail("partial load", partial.status());
  std::printf("loaded params only: %s\n", partial->DebugString().c_str());

  // Rows 100..101, columns 0..3 of the embedding.
  cairn::ArraySpec region;
  region.shape = cairn::Shape{2, 4};
  region.origin = cairn::Shape{100, 0};
  cairn::Tree one = cairn::Tree::Dict();
  cairn::Tree& one_params = one.Set("params", cairn::Tree::Dict());
  one_params.Set("embedding", cairn::Tree::Spec(region));
  one_params.Set("dense", cairn::Tree::Placeholder());
  cairn::StoreLoadOptions load_options;
  load_options.partial = true;
  absl::StatusOr<cairn::Tree> slice = cairn::LoadTree(dir, one, load_options);
  if (!slice.ok()) return Fail("region load", slice.status());
  auto values = slice->Find("params")->Find("embedding")->array().values<float>();
  std::printf("embedding[100:102, 0:4] =");
  for (float v : values) std::printf(" %.3f", v);
  std::printf("\n");
  const bool ok = values[0] == 0.001f * 6400 && values[5] == 0.001f * 6465;
  std::printf(ok ? "demo ok\n" : "demo FAILED: wrong values\n");
  return ok ? 0 : 1;
}
