#include "bench/suite/training_state.h"

#include <cmath>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cairn/storage/float_formats.h"
#include "nlohmann/json.hpp"

namespace cairn::bench {
namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull) {}
  uint64_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  // Approximately normal (the sum of four uniforms), mean 0 and deviation `sigma`.
  float Normal(float sigma) {
    const uint64_t bits = Next();
    const int32_t sum =
        static_cast<int32_t>(bits & 0xFFFF) + static_cast<int32_t>((bits >> 16) & 0xFFFF) +
        static_cast<int32_t>((bits >> 32) & 0xFFFF) + static_cast<int32_t>(bits >> 48) - 2 * 65535;
    // Four uniforms on [0, 65535] have variance 4 * 65536^2 / 12.
    constexpr float kUnit = 1.0f / 37837.2f;
    return static_cast<float>(sum) * kUnit * sigma;
  }

 private:
  uint64_t state_;
};

class Builder {
 public:
  Builder(std::string name, uint64_t seed) : seed_(seed) { state_.name = std::move(name); }

  // Adds a leaf at `path` (keys joined by '/'), in the tree too unless `insert` is false, and
  // returns its buffer to fill.
  char* Add(const std::string& path, DType dtype, Shape shape, bool insert = true) {
    uint64_t bytes = DTypeSize(dtype);
    for (int64_t d : shape) bytes *= static_cast<uint64_t>(d);
    state_.buffers.emplace_back(new char[bytes]);
    char* data = state_.buffers.back().get();
    if (insert) {
      Tree* node = &state_.tree;
      std::vector<std::string> keys = absl::StrSplit(path, '/');
      for (size_t i = 0; i + 1 < keys.size(); ++i) {
        Tree* child = node->FindMutable(keys[i]);
        node = child != nullptr ? child : &node->Set(keys[i], Tree::Dict());
      }
      node->Set(keys.back(), Tree::FromArray(Array::Borrow(dtype, shape, data)));
    }
    state_.leaves.push_back(StateLeaf{path, dtype, std::move(shape), data, bytes});
    state_.bytes += bytes;
    return data;
  }

  void Uniform(const std::string& path, Shape shape, float scale, bool insert = true) {
    float* data = reinterpret_cast<float*>(Add(path, DType::kFloat32, std::move(shape), insert));
    Rng rng(seed_ + state_.leaves.size());
    const uint64_t count = state_.leaves.back().bytes / 4;
    const float unit = scale / 2147483648.0f;
    for (uint64_t i = 0; i + 1 < count; i += 2) {
      const uint64_t bits = rng.Next();
      data[i] = static_cast<float>(static_cast<int32_t>(bits)) * unit;
      data[i + 1] = static_cast<float>(static_cast<int32_t>(bits >> 32)) * unit;
    }
    if (count % 2) data[count - 1] = 0;
  }

  void Bfloat16(const std::string& path, Shape shape, float mean, float sigma) {
    uint16_t* data = reinterpret_cast<uint16_t*>(Add(path, DType::kBFloat16, std::move(shape)));
    Rng rng(seed_ + state_.leaves.size());
    const uint64_t count = state_.leaves.back().bytes / 2;
    for (uint64_t i = 0; i < count; ++i) data[i] = FloatToBFloat16Bits(mean + rng.Normal(sigma));
  }

  void Int64(const std::string& path, Shape shape, int64_t first) {
    int64_t* data = reinterpret_cast<int64_t*>(Add(path, DType::kInt64, std::move(shape)));
    const uint64_t count = state_.leaves.back().bytes / 8;
    for (uint64_t i = 0; i < count; ++i) data[i] = first + static_cast<int64_t>(i);
  }

  Array LastArray() const {
    const StateLeaf& leaf = state_.leaves.back();
    return Array::Borrow(leaf.dtype, leaf.shape, leaf.data);
  }

  BenchState Take() { return std::move(state_); }

 private:
  const uint64_t seed_;
  BenchState state_;
};

}  // namespace

BenchState MakeTrainingState(uint64_t seed) {
  constexpr int64_t kVocab = 16384, kModel = 1024, kHidden = 4096, kLayers = 6;
  Builder b("train_f32", seed);
  // Adam's state mirrors the parameters: first moments around zero, second moments positive.
  const struct {
    const char* prefix;
    float scale;
  } trees[] = {{"params", 0.05f}, {"opt_state/mu", 1e-3f}, {"opt_state/nu", 1e-6f}};
  for (const auto& tree : trees) {
    const std::string p = tree.prefix;
    b.Uniform(p + "/embedding", {kVocab, kModel}, tree.scale);
    for (int layer = 0; layer < kLayers; ++layer) {
      const std::string l = absl::StrCat(p, "/layer", layer, "/");
      for (const char* m : {"q", "k", "v", "o"}) {
        b.Uniform(l + m, {kModel, kModel}, tree.scale);
        b.Uniform(l + m + "_bias", {kModel}, tree.scale);
      }
      b.Uniform(l + "mlp_in", {kModel, kHidden}, tree.scale);
      b.Uniform(l + "mlp_in_bias", {kHidden}, tree.scale);
      b.Uniform(l + "mlp_out", {kHidden, kModel}, tree.scale);
      b.Uniform(l + "mlp_out_bias", {kModel}, tree.scale);
      b.Uniform(l + "norm1", {kModel}, tree.scale);
      b.Uniform(l + "norm2", {kModel}, tree.scale);
    }
    b.Uniform(p + "/final_norm", {kModel}, tree.scale);
  }
  b.Int64("opt_state/count", {}, 120000);
  b.Int64("step", {}, 120000);
  b.Int64("data_iterator/epoch", {}, 3);
  b.Int64("data_iterator/position", {}, 987654321);
  b.Int64("rng_key", {2}, 42);
  return b.Take();
}

BenchState MakeBfloat16Weights(uint64_t seed) {
  constexpr int64_t kVocab = 16384, kModel = 2048, kHidden = 8192, kLayers = 10;
  Builder b("weights_bf16", seed);
  b.Bfloat16("params/embedding", {kVocab, kModel}, 0.0f, 0.02f);
  for (int layer = 0; layer < kLayers; ++layer) {
    const std::string l = absl::StrCat("params/layer", layer, "/");
    // Deeper layers are initialised (and stay) smaller, as in scaled initialisations.
    const float sigma = 0.02f / std::sqrt(static_cast<float>(layer + 1));
    for (const char* m : {"q", "k", "v", "o"}) b.Bfloat16(l + m, {kModel, kModel}, 0.0f, sigma);
    b.Bfloat16(l + "mlp_in", {kModel, kHidden}, 0.0f, sigma);
    b.Bfloat16(l + "mlp_out", {kHidden, kModel}, 0.0f, sigma);
    b.Bfloat16(l + "norm1", {kModel}, 1.0f, 0.05f);
    b.Bfloat16(l + "norm2", {kModel}, 1.0f, 0.05f);
  }
  b.Bfloat16("params/final_norm", {kModel}, 1.0f, 0.05f);
  return b.Take();
}

BenchState MakeUniformState(uint64_t total_bytes, int leaves, uint64_t seed) {
  Builder b(absl::StrCat("uniform_", total_bytes >> 20, "mib_", leaves, "leaves"), seed);
  const int64_t elements = static_cast<int64_t>(total_bytes / 4 / static_cast<uint64_t>(leaves));
  // Built with DictFrom, 100 leaves a group: Set searches a dict linearly.
  std::vector<std::string> group_keys;
  std::vector<Tree> groups;
  for (int first = 0; first < leaves; first += 100) {
    std::vector<std::string> keys;
    std::vector<Tree> values;
    group_keys.push_back(absl::StrCat("group", first / 100));
    for (int i = first; i < std::min(leaves, first + 100); ++i) {
      keys.push_back(absl::StrCat("w", i));
      b.Uniform(absl::StrCat(group_keys.back(), "/", keys.back()), {elements}, 0.05f,
                /*insert=*/false);
      values.push_back(Tree::FromArray(b.LastArray()));
    }
    groups.push_back(Tree::DictFrom(std::move(keys), std::move(values)).value());
  }
  BenchState state = b.Take();
  state.tree = Tree::DictFrom(std::move(group_keys), std::move(groups)).value();
  return state;
}

absl::Status ExportState(const BenchState& state, const std::string& dir) {
  nlohmann::json manifest = {{"name", state.name}, {"bytes", state.bytes}};
  nlohmann::json& leaves = manifest["leaves"] = nlohmann::json::array();
  const std::string bin = absl::StrCat(dir, "/", state.name, ".bin");
  std::ofstream out(bin, std::ios::binary | std::ios::trunc);
  uint64_t offset = 0;
  for (const StateLeaf& leaf : state.leaves) {
    out.write(leaf.data, static_cast<std::streamsize>(leaf.bytes));
    leaves.push_back({{"path", leaf.path},
                      {"dtype", DTypeNumpyName(leaf.dtype)},
                      {"shape", leaf.shape},
                      {"offset", offset},
                      {"bytes", leaf.bytes}});
    offset += leaf.bytes;
  }
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", bin));
  std::ofstream json(absl::StrCat(dir, "/", state.name, ".json"), std::ios::trunc);
  json << manifest.dump(1) << "\n";
  json.close();
  if (!json) return absl::InternalError(absl::StrCat("cannot write the manifest in ", dir));
  return absl::OkStatus();
}

const char* DTypeNumpyName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "float32";
    case DType::kBFloat16:
      return "bfloat16";
    case DType::kInt64:
      return "int64";
    default:
      return "unsupported";
  }
}

}  // namespace cairn::bench
