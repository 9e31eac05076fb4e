// Loads one ~1 GiB training-like state from an Orbax-style checkpoint and from cairn's own
// format of the same state, in the same run, and prints how much longer the Orbax load takes.
//
// The Orbax checkpoint is written as Orbax's v1 API writes one: a pytree `_METADATA`, and the
// arrays as zarr v3 arrays with `sharding_indexed` (one shard per array, inner chunks of
// `inner_mib`, the codec chain of Orbax's golden files: `bytes` little-endian then zstd level 3,
// index `bytes` + `crc32c` at the end) inside an OCDBT database: `manifest.ocdbt`, B+tree nodes
// in `d/nodes` and the shards out of line in data files `d/<32 hex>`, several arrays per file.
// cairn's checkpoint is SaveTree's with default options (with `codec=zstd`, compress = true).
//
// Cases (each the median of `runs`, partial loads of 3 x `runs`, the two sides taking turns in an
// order that alternates): the whole tree warm and cold, one array (a partial load) warm and cold.
// Cold means every file of the checkpoint was fsynced and dropped with
// posix_fadvise(POSIX_FADV_DONTNEED) before the load; mincore checks that it worked, and the run
// says so when it did not. Loads land in fresh memory on both sides (large allocations are mapped
// fresh), as in a process that has just started. Prints one line per case, then
//   orbax_load_vs_cairn=<worst whole-load ratio> orbax_partial_vs_cairn=<worst partial ratio>
//
// Usage: orbax_bench [runs=5] [MiB=1024] [codec=zstd|raw] [inner_mib=2] [fanout=16];
// CAIRN_BENCH_DIR picks the file system.
#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bench/bench_util.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem.h"
#include "nlohmann/json.hpp"
#include "tests/support/ocdbt_encoder.h"
#include "tests/support/zarr_encoder.h"

namespace cairn::bench {
namespace {

using nlohmann::json;

struct Leaf {
  std::vector<std::string> keys;
  Array array;
};

struct State {
  Tree tree = Tree::Dict();
  std::vector<std::unique_ptr<char[]>> buffers;
  std::vector<Leaf> leaves;
  uint64_t bytes = 0;
};

// Layers of four 2048x2048 float32 matrices (16 MiB each) with a norm vector each, until
// `target_bytes`, and a step counter.
State MakeState(uint64_t target_bytes) {
  State state;
  uint64_t seed = 1;
  auto add = [&](std::vector<std::string> keys, DType dtype, Shape shape) {
    uint64_t count = 1;
    for (int64_t d : shape) count *= static_cast<uint64_t>(d);
    const uint64_t size = count * DTypeSize(dtype);
    state.buffers.emplace_back(new char[size + 8]);
    FillRandom(state.buffers.back().get(), size + 8, seed++);
    Array array = Array::Borrow(dtype, shape, state.buffers.back().get());
    Tree* at = &state.tree;
    for (size_t i = 0; i + 1 < keys.size(); ++i) {
      Tree* child = at->FindMutable(keys[i]);
      at = child != nullptr ? child : &at->Set(keys[i], Tree::Dict());
    }
    at->Set(keys.back(), Tree::FromArray(array));
    state.leaves.push_back(Leaf{std::move(keys), array});
    state.bytes += size;
  };
  for (int layer = 0; state.bytes < target_bytes; ++layer) {
    char name[16];
    std::snprintf(name, sizeof(name), "layer_%02d", layer);
    for (const char* m : {"q", "k", "v", "o"}) {
      add({"params", name, m}, DType::kFloat32, {2048, 2048});
    }
    add({"params", name, "norm"}, DType::kFloat32, {2048});
  }
  add({"opt_state", "count"}, DType::kInt32, {1});
  return state;
}

// Orbax's codec chain for one array: one shard of the whole array, inner chunks of `inner_rows`
// rows, `bytes` then (for zstd) zstd level 3, the index `bytes` + `crc32c` at the end.
json ZarrJson(const Array& array, int64_t inner_rows, bool zstd) {
  Shape inner = array.shape();
  inner[0] = std::min<int64_t>(inner[0], inner_rows);
  json inner_codecs = json::array({{{"configuration", {{"endian", "little"}}}, {"name", "bytes"}}});
  if (zstd) {
    inner_codecs.push_back(
        {{"configuration", {{"checksum", false}, {"level", 3}}}, {"name", "zstd"}});
  }
  json sharding = {{"configuration",
                    {{"chunk_shape", inner},
                     {"codecs", inner_codecs},
                     {"index_codecs",
                      json::array({{{"configuration", {{"endian", "little"}}}, {"name", "bytes"}},
                                   {{"name", "crc32c"}}})},
                     {"index_location", "end"}}},
                   {"name", "sharding_indexed"}};
  return {
      {"chunk_grid", {{"configuration", {{"chunk_shape", array.shape()}}}, {"name", "regular"}}},
      {"chunk_key_encoding", {{"name", "default"}}},
      {"codecs", json::array({sharding})},
      {"data_type", array.dtype() == DType::kInt32 ? "int32" : "float32"},
      {"fill_value", 0},
      {"node_type", "array"},
      {"shape", array.shape()},
      {"zarr_format", 3}};
}

std::string PythonTupleRepr(const std::vector<std::string>& keys) {
  std::vector<std::string> quoted;
  for (const std::string& k : keys) quoted.push_back(absl::StrCat("'", k, "'"));
  return absl::StrCat("(", absl::StrJoin(quoted, ", "), keys.size() == 1 ? ",)" : ")");
}

void WriteFile(Filesystem& fs, const std::string& path, const std::string& bytes) {
  auto file = fs.NewWritableFile(path);
  Check(file.status(), "create");
  Check((*file)->Append(bytes), "write");
  Check((*file)->Sync(), "fsync");
  Check((*file)->Close(), "close");
}

// Writes the Orbax pytree directory `dir`. Returns the number of B+tree levels.
int WriteOrbaxCheckpoint(const State& state, const std::string& dir, bool zstd, int64_t inner_rows,
                         size_t fanout) {
  Filesystem& fs = *Filesystem::Default();
  std::filesystem::create_directories(dir + "/d");
  OcdbtConfig config;  // as Orbax's golden databases
  for (size_t i = 0; i < config.uuid.size(); ++i) config.uuid[i] = static_cast<uint8_t>(17 * i + 3);
  config.max_inline_value_bytes = 1024;
  config.max_decoded_node_bytes = 100000000;
  config.version_tree_arity_log2 = 4;
  config.compression = OcdbtConfig::Compression::kZstd;
  config.zstd_level = 0;
  ocdbt_test::DatabaseBuilder builder(dir, config);

  // Keys and values: zarr.json inline, each shard out of line in a data file shared by up to
  // eight arrays (Orbax writes a few large data files per checkpoint).
  std::map<std::string, ocdbt_test::LeafEntry> entries;
  json tree_metadata = json::object();
  std::unique_ptr<WritableFile> data;
  std::string data_name;
  uint64_t data_size = 0;
  for (size_t i = 0; i < state.leaves.size(); ++i) {
    const Leaf& leaf = state.leaves[i];
    const std::string param = absl::StrJoin(leaf.keys, ".");
    const json meta = ZarrJson(leaf.array, inner_rows, zstd);
    const std::string elements(static_cast<const char*>(leaf.array.data()), leaf.array.byte_size());
    std::map<std::string, std::string> keys =
        zarr_test::EncodeArray(meta, DTypeSize(leaf.array.dtype()), false, elements,
                               std::string(DTypeSize(leaf.array.dtype()), '\0'), false);
    for (auto& [key, value] : keys) {
      ocdbt_test::LeafEntry entry;
      entry.key = absl::StrCat(param, "/", key);
      if (value.size() <= config.max_inline_value_bytes) {
        entry.value = std::move(value);
      } else {
        if (data == nullptr || i % 8 == 0) {
          if (data != nullptr) Check(data->Sync(), "fsync"), Check(data->Close(), "close");
          char name[40];
          std::snprintf(name, sizeof(name), "d/%016llx%016llx", 0x6b3188c296298811ull + i,
                        0xd6ef3175926acfd5ull ^ i);
          data_name = name;
          auto file = fs.NewWritableFile(dir + "/" + data_name);
          Check(file.status(), "create data file");
          data = *std::move(file);
          data_size = 0;
        }
        Check(data->Append(value), "write data file");
        entry.out_of_line = true;
        entry.location =
            ocdbt_test::ByteRange{ocdbt_test::FileRef{"", data_name}, data_size, value.size()};
        data_size += value.size();
      }
      entries.emplace(entry.key, std::move(entry));
    }
    json key_metadata = json::array();
    for (const std::string& k : leaf.keys) key_metadata.push_back({{"key", k}, {"key_type", 2}});
    tree_metadata[PythonTupleRepr(leaf.keys)] = {{"key_metadata", key_metadata},
                                                 {"value_metadata",
                                                  {{"value_type", "jax.Array"},
                                                   {"skip_deserialize", false},
                                                   {"write_shape", leaf.array.shape()}}}};
  }
  Check(data->Sync(), "fsync");
  Check(data->Close(), "close");

  // The B+tree: leaves of `fanout` keys, then interior levels until one root.
  std::vector<ocdbt_test::Subtree> level;
  std::vector<ocdbt_test::LeafEntry> group;
  auto flush_leaf = [&]() {
    ocdbt_test::Subtree tree;
    tree.first_key = group.front().key;
    for (const auto& e : group) {
      ++tree.stats.num_keys;
      if (e.out_of_line) tree.stats.num_indirect_value_bytes += e.location.length;
    }
    const std::string encoded =
        ocdbt_test::FrameObject(0x0cdb20de, ocdbt_test::EncodeLeafBody(group), config);
    tree.location = builder.Append("d/nodes", encoded);
    tree.stats.num_tree_bytes = encoded.size();
    level.push_back(tree);
    group.clear();
  };
  // Keys are whole in every node (no node has a prefix), which a root requires anyway.
  for (auto& [key, entry] : entries) {
    group.push_back(entry);
    if (group.size() == fanout) flush_leaf();
  }
  if (!group.empty()) flush_leaf();
  int levels = 1;
  while (level.size() > 1) {
    const bool is_root = level.size() <= fanout;
    std::vector<ocdbt_test::Subtree> next;
    std::vector<std::pair<ocdbt_test::Subtree, std::string>> children;
    for (const ocdbt_test::Subtree& t : level) {
      children.emplace_back(t, "");
      if (children.size() == fanout) {
        next.push_back(builder.BuildInterior(children, "", is_root));
        children.clear();
      }
    }
    if (!children.empty()) next.push_back(builder.BuildInterior(children, "", is_root));
    level = std::move(next);
    ++levels;
  }
  builder.WriteManifest(
      {ocdbt_test::DatabaseBuilder::Version(1, level.front(), 1764000000000000000ull)});
  for (const auto& [relative, bytes] : builder.files()) {
    WriteFile(fs, dir + "/" + relative, bytes);
  }
  const json metadata = {{"tree_metadata", tree_metadata},
                         {"use_ocdbt", true},
                         {"use_zarr3", true},
                         {"store_array_data_equal_to_fill_value", true},
                         {"custom_metadata", nullptr}};
  WriteFile(fs, dir + "/_METADATA", metadata.dump());
  return levels;
}

std::vector<std::string> FilesBelow(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  return files;
}

// Pages of the files below `dir` that are in the page cache, and all their pages.
std::pair<uint64_t, uint64_t> ResidentPages(const std::string& dir) {
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t resident = 0, total = 0;
  for (const std::string& path : FilesBelow(dir)) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    const off_t size = ::lseek(fd, 0, SEEK_END);
    if (size > 0) {
      void* map = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_SHARED, fd, 0);
      if (map != MAP_FAILED) {
        const uint64_t pages = (static_cast<uint64_t>(size) + page - 1) / page;
        std::vector<unsigned char> in_core(pages);
        if (::mincore(map, static_cast<size_t>(size), in_core.data()) == 0) {
          for (unsigned char c : in_core) resident += c & 1;
        }
        total += pages;
        ::munmap(map, static_cast<size_t>(size));
      }
    }
    ::close(fd);
  }
  return {resident, total};
}

// Drops the files below `dir` from the page cache; returns the fraction still resident.
double Evict(const std::string& dir) {
  for (const std::string& path : FilesBelow(dir)) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ::fsync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
  const auto [resident, total] = ResidentPages(dir);
  return total == 0 ? 0 : static_cast<double>(resident) / static_cast<double>(total);
}

// Every leaf of `loaded` equals the state's leaf of the same path.
void Verify(const State& state, const Tree& loaded, const char* what) {
  std::map<std::string, const Array*> want;
  for (const Leaf& leaf : state.leaves) want[absl::StrJoin(leaf.keys, "/")] = &leaf.array;
  int seen = 0;
  loaded.ForEachLeaf([&](const KeyPath& path, const Tree& leaf) {
    std::vector<std::string> keys;
    for (const auto& e : path.entries()) keys.push_back(e.key);
    auto it = want.find(absl::StrJoin(keys, "/"));
    if (it == want.end() || leaf.kind() != Tree::Kind::kArray ||
        !leaf.array().ContentEquals(*it->second)) {
      std::fprintf(stderr, "%s: %s differs from the saved state\n", what, path.ToString().c_str());
      std::exit(3);
    }
    ++seen;
  });
  if (seen == 0) std::fprintf(stderr, "%s: no leaves loaded\n", what), std::exit(3);
}

struct Side {
  const char* name;
  std::string dir;
};

struct Timings {
  std::vector<double> cairn, orbax;
};

std::string Spread(const std::vector<double>& v) {
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return absl::StrCat(static_cast<int>(*lo * 1000 + 0.5), "-", static_cast<int>(*hi * 1000 + 0.5));
}

int Main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  const uint64_t mib = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1024;
  const std::string codec = argc > 3 ? argv[3] : "zstd";
  const int64_t inner_mib = argc > 4 ? std::atoll(argv[4]) : 2;
  const size_t fanout = argc > 5 ? std::strtoull(argv[5], nullptr, 10) : 16;
  if (codec != "zstd" && codec != "raw") {
    std::fprintf(stderr, "codec must be zstd or raw\n");
    return 2;
  }
  const bool zstd = codec == "zstd";
  ScratchDir scratch;
  State state = MakeState(mib << 20);
  const std::string orbax_dir = scratch.path() + "/orbax";
  const std::string cairn_dir = scratch.path() + "/cairn";
  double start = NowSeconds();
  const int levels = WriteOrbaxCheckpoint(state, orbax_dir, zstd, inner_mib * 512, fanout);
  const double orbax_write = NowSeconds() - start;
  StoreSaveOptions save;
  save.compress = zstd;
  start = NowSeconds();
  Check(SaveTree(cairn_dir, state.tree, save), "cairn save");
  const double cairn_write = NowSeconds() - start;
  uint64_t orbax_bytes = 0, cairn_bytes = 0;
  for (const auto& f : FilesBelow(orbax_dir)) orbax_bytes += std::filesystem::file_size(f);
  for (const auto& f : FilesBelow(cairn_dir)) cairn_bytes += std::filesystem::file_size(f);
  std::printf(
      "state: %zu leaves, %.1f MiB, %d runs, in %s\n"
      "orbax: zarr v3 sharding_indexed(bytes%s), inner chunks %lld MiB, OCDBT B+tree of %d "
      "levels (fanout %zu), %.1f MiB, written in %.1f s\n"
      "cairn: SaveTree defaults%s, %.1f MiB, saved in %.1f s\n",
      state.leaves.size(), state.bytes / 1048576.0, runs, scratch.path().c_str(),
      zstd ? ",zstd level 3" : "", static_cast<long long>(inner_mib), levels, fanout,
      orbax_bytes / 1048576.0, orbax_write, zstd ? " with compress" : "", cairn_bytes / 1048576.0,
      cairn_write);
  std::fflush(stdout);

  // Loads land in fresh memory, as in a process that has just started (no reuse of the memory
  // the previous load freed).
  mallopt(M_MMAP_THRESHOLD, 256 << 10);

  // Correctness first (untimed): both load back the state, whole and partial.
  Tree abstract_part = Tree::Dict();
  ArraySpec part_spec;
  part_spec.dtype = DType::kFloat32;
  // One attention matrix of the middle layer.
  const std::string part_layer = state.leaves[state.leaves.size() / 2].keys[1];
  abstract_part.Set("params", Tree::Dict())
      .Set(part_layer, Tree::Dict())
      .Set("q", Tree::Spec(part_spec));
  StoreLoadOptions partial;
  partial.partial = true;
  for (const std::string& dir : {cairn_dir, orbax_dir}) {
    absl::StatusOr<Tree> whole = LoadTree(dir);
    Check(whole.status(), "load");
    Verify(state, *whole, dir.c_str());
    absl::StatusOr<Tree> part = LoadTree(dir, abstract_part, partial);
    Check(part.status(), "partial load");
    Verify(state, *part, dir.c_str());
  }

  struct Case {
    const char* name;
    bool cold;
    bool part;
    Timings t;
    double worst_resident = 0;
  };
  std::vector<Case> cases = {{"whole_warm", false, false, {}},
                             {"whole_cold", true, false, {}},
                             {"partial_warm", false, true, {}},
                             {"partial_cold", true, true, {}}};
  // A partial load takes milliseconds, where the disk's noise is largest: it is repeated three
  // times as often.
  for (int run = 0; run < 3 * runs; ++run) {
    for (Case& c : cases) {
      if (!c.part && run >= runs) continue;
      auto load = [&](const std::string& dir) {
        return c.part ? LoadTree(dir, abstract_part, partial) : LoadTree(dir);
      };
      for (int side = 0; side < 2; ++side) {
        const bool orbax = (side + run) % 2 == 1;
        const std::string& dir = orbax ? orbax_dir : cairn_dir;
        if (c.cold) {
          c.worst_resident = std::max(c.worst_resident, Evict(dir));
        } else {
          Check(load(dir).status(), "warm-up load");  // caches what the load reads
        }
        const double begin = NowSeconds();
        absl::StatusOr<Tree> loaded = load(dir);
        const double elapsed = NowSeconds() - begin;
        Check(loaded.status(), "load");
        (orbax ? c.t.orbax : c.t.cairn).push_back(elapsed);
      }
    }
  }
  double worst_whole = 0, worst_partial = 0;
  for (const Case& c : cases) {
    const double cairn_s = Median(c.t.cairn), orbax_s = Median(c.t.orbax);
    const double ratio = orbax_s / cairn_s;
    std::printf("%-13s cairn %8.2f ms (%s)  orbax %8.2f ms (%s)  orbax/cairn %.3f%s\n", c.name,
                cairn_s * 1000, Spread(c.t.cairn).c_str(), orbax_s * 1000,
                Spread(c.t.orbax).c_str(), ratio,
                c.cold && c.worst_resident > 0.01
                    ? absl::StrCat("  (eviction incomplete: up to ",
                                   static_cast<int>(c.worst_resident * 100), "% still cached)")
                          .c_str()
                    : "");
    (c.part ? worst_partial : worst_whole) = std::max(c.part ? worst_partial : worst_whole, ratio);
  }
  bool evicted = true;
  for (const Case& c : cases) evicted = evicted && (!c.cold || c.worst_resident <= 0.01);
  std::printf("cold eviction %s (mincore: at most %.2f%% of pages still cached)\n",
              evicted ? "worked" : "did NOT work",
              std::max(cases[1].worst_resident, cases[3].worst_resident) * 100);
  std::printf("orbax_load_vs_cairn=%.3f orbax_partial_vs_cairn=%.3f\n", worst_whole, worst_partial);
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) { return cairn::bench::Main(argc, argv); }
