// The pytree array store: saves ONE tree into ONE directory, loads it back (whole or in part,
// cast, padded or truncated) and describes it without reading array bytes.
//
// This layer knows nothing of steps or commits: it writes the directory it is given. The
// checkpoint layer (steps/) makes a save atomic by writing into a temporary directory.
#ifndef CAIRN_STORAGE_PYTREE_STORE_H_
#define CAIRN_STORAGE_PYTREE_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/key_path.h"
#include "cairn/storage/tree.h"
#include "nlohmann/json.hpp"

namespace cairn {

class Filesystem;
class Coordinator;
class ThreadPool;
class ArrayMemory;

// How array bytes are laid out in files (Orbax's use_ocdbt switch). Both load the same way.
enum class StoreLayout {
  kAggregated,  // a few large data files per process (the default)
  kPerLeaf,     // one data file per array piece; can suit huge stacked models
};

// Which format a save writes. Loads read either without being told.
enum class StoreFormat {
  kCairn,  // cairn's own: data files and an index with a checksum per chunk (docs/FORMAT.md)
  kOrbax,  // Orbax's v1 pytree layout with zarr v3 arrays, for JAX to open (docs/ORBAX.md)
};

// What an Orbax-format save records its arrays as, which decides what Orbax restores them as
// when the JAX side gives no target tree.
enum class OrbaxArrayType {
  kNumpy,  // "np.ndarray": restored as numpy arrays on any host; needs no device (the default)
  kJax,    // "jax.Array": restored onto the device _sharding names (a single-process save
           // records the first CPU device; a multi-process one records none, so its readers
           // give a target tree with shardings, as multi-host restores do anyway)
};

// Per-array storage choices; unset fields fall back to StoreSaveOptions' defaults.
struct ArrayStorageOptions {
  std::optional<DType> dtype;            // the dtype written to disk (float32 as bfloat16, say)
  std::optional<bool> compress;          // zstd on or off
  std::optional<int> compression_level;  // zstd level, 1 to 19
  std::optional<bool> byte_shuffle;      // shuffle bytes into planes before zstd
  std::optional<uint64_t> chunk_bytes;   // target bytes per chunk
};

struct StoreSaveOptions {
  StoreFormat format = StoreFormat::kCairn;
  // In Orbax's format, kAggregated is its OCDBT database (use_ocdbt) and kPerLeaf a zarr
  // directory per array.
  StoreLayout layout = StoreLayout::kAggregated;
  OrbaxArrayType orbax_array_type = OrbaxArrayType::kNumpy;
  // In Orbax's format, a checksum on every inner chunk that every zarr reader checks: zarr's
  // crc32c codec after uncompressed chunks, zstd's frame checksum in compressed ones. Off, the
  // codecs are exactly Orbax's defaults, and only the shard indexes carry a CRC-32C.
  bool orbax_chunk_checksums = true;
  bool compress = false;
  int compression_level = 1;
  // With compression, multi-byte elements are stored byte-shuffled (all first bytes, then all
  // second bytes, ...): floats' sign and exponent bytes then compress well, which on bfloat16
  // weights gains about a tenth of their size. Such saves are format version 2 (docs/FORMAT.md).
  bool byte_shuffle = true;
  uint64_t chunk_bytes = uint64_t{8} << 20;
  // Called once per array with its key path; its fields override the defaults above, like
  // Orbax's scoped storage options. Leave empty for the defaults everywhere.
  std::function<ArrayStorageOptions(const KeyPath&, const Array&)> storage_options;
  // Any JSON document, stored with the tree and returned by ReadTreeMetadata.
  nlohmann::json custom_metadata;
  // fsync data and index before returning. Only turn off for scratch data.
  bool sync = true;

  Filesystem* filesystem = nullptr;    // default: Filesystem::Default()
  Coordinator* coordinator = nullptr;  // default: a single process
  ThreadPool* pool = nullptr;          // default: ThreadPool::Shared()
  int parallelism = 0;                 // threads used at once; 0: the pool's size
};

// Why an array of a mapped load (StoreLoadOptions::map_arrays) was read into memory of its own
// instead of being returned as a view of the checkpoint's file.
enum class MapFallback {
  kDestination,  // the abstract tree gave a writable array to load into
  kCast,         // a dtype other than the stored one was asked for
  kRegion,       // a region of the array was asked for (an origin)
  kPadding,      // a shape other than the stored one was asked for (padded or truncated)
  kCompressed,   // its chunks are compressed
  kLayout,       // its chunks are not one aligned run of one file (several shards, gaps)
  kEmpty,        // it has no elements: there is nothing to map
  kFormat,       // the tree is not in cairn's format (Orbax)
  kFilesystem,   // the filesystem cannot map files (in memory, fault injection)
};
absl::string_view MapFallbackName(MapFallback reason);

// What a mapped load did with each array leaf it returned, by key path (KeyPath::ToString).
struct MapReport {
  std::vector<std::string> mapped;               // views of the file, in load order
  std::map<std::string, MapFallback> fallbacks;  // the others, read as without the option
};

struct StoreLoadOptions {
  // Let a requested shape differ from the stored one: missing elements are zero, extra ones are
  // dropped. Off, a mismatch is an error.
  bool enable_padding_and_truncation = false;
  // Let dict keys of the checkpoint be absent from the abstract tree: they are skipped (not
  // read) instead of failing the load as a structure mismatch.
  bool partial = false;
  // Let a cast into an integer type saturate the values that type cannot hold: NaN becomes 0,
  // infinities and values past the range become its nearest end (float32 1e20 as int32 is
  // 2147483647, int64 -1 as uint8 is 0). Off, such a value fails the load with InvalidArgument
  // naming the key path, the element and its value; arrays and scalars follow the same rule.
  // Casts to integers truncate toward zero either way, as numpy's astype does.
  bool saturate_casts = false;
  // Refuse an index larger than this (a corrupt or hostile size is not trusted).
  uint64_t max_index_bytes = uint64_t{1} << 30;
  // The most the load allocates for arrays; arrays loaded into caller-provided destinations
  // (writable arrays of the abstract tree) are not counted. Past it the load fails with
  // ResourceExhausted naming the key path, before allocating. Unset, it is 4 times the bytes
  // that stored chunks fill in the arrays (in the requested dtype, so casts and compression
  // never count against it) plus 1 GiB: only zero padding and arrays the checkpoint holds no
  // data for can use it up.
  std::optional<uint64_t> max_allocation_bytes;
  // Return arrays as read-only views of the checkpoint's data files mapped into memory, with no
  // copy, where the stored bytes are the requested ones: cairn's format, uncompressed, the stored
  // dtype, the whole array, its chunks one run of one file, no destination given, a filesystem
  // that can map (ReadableFile::Map). Every chunk's checksum is verified over the mapped pages
  // before the load returns. Other arrays load as without the option (MapFallback says why).
  // A view keeps its file's mapping alive as long as the array or a copy of it lives; see the
  // README ("Mapped loads") for what happens when the step is deleted or replaced under it.
  bool map_arrays = false;
  // When set, a load with map_arrays clears it and fills it in. A load writes it from its
  // calling thread; concurrent loads need one each.
  MapReport* map_report = nullptr;
  // Where the load's fresh arrays get their memory (storage/array_memory.h): an ArrayArena kept
  // across loads reuses the memory of arrays already destroyed, without page faults; or the
  // caller's own allocator. Null: the heap. Not owned; must outlive the load.
  ArrayMemory* memory = nullptr;

  Filesystem* filesystem = nullptr;
  ThreadPool* pool = nullptr;
  int parallelism = 0;
};

// What ReadTreeMetadata returns. `tree` is an abstract tree: arrays are ArraySpecs with dtype,
// shape and storage info, scalars are type-only leaves. It can be passed to LoadTree as is.
struct StoreMetadata {
  Tree tree;
  nlohmann::json custom_metadata;
  uint32_t format_version = 0;
  StoreLayout layout = StoreLayout::kAggregated;
  std::string writer;
  uint64_t data_bytes = 0;  // bytes of all data files
};

// Saves `tree` into `dir`, creating it (and missing parents). `dir` must be absent or empty.
absl::Status SaveTree(const std::string& dir, const Tree& tree,
                      const StoreSaveOptions& options = StoreSaveOptions());

// InvalidArgument naming the key path of the first dict key or string leaf of `tree` that is not
// well-formed UTF-8: saved, it would make the tree unreadable. SaveTree refuses such a tree
// before writing anything; this lets a caller refuse it before doing anything else.
absl::Status CheckTreeText(const Tree& tree);

// Loads from `dir` what `abstract` asks for (Tree::AsSaved() for everything as saved). The
// result mirrors `abstract`'s structure; placeholders stay placeholders and are never read.
absl::StatusOr<Tree> LoadTree(const std::string& dir, const Tree& abstract = Tree::AsSaved(),
                              const StoreLoadOptions& options = StoreLoadOptions());

// Describes the tree in `dir` from its index alone (one read, no array bytes).
absl::StatusOr<StoreMetadata> ReadTreeMetadata(
    const std::string& dir, const StoreLoadOptions& options = StoreLoadOptions());

// Whether `dir` holds a saved tree (its index file exists); errors other than absence are
// returned.
absl::StatusOr<bool> HoldsTree(const std::string& dir, Filesystem* filesystem = nullptr);

// The names of the store's files inside its directory (docs/FORMAT.md).
inline constexpr char kTreeIndexFileName[] = "_CAIRN_INDEX";
inline constexpr char kTreeDataDirName[] = "_cairn_data";

}  // namespace cairn

#endif  // CAIRN_STORAGE_PYTREE_STORE_H_
