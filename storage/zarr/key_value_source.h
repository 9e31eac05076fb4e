// The keys a zarr array lives under, read-only: the values of an OCDBT database (Orbax's default
// layout), files below a directory (one directory per array), or a map in memory (tests, fuzzing).
// The zarr layer (storage/zarr/zarr_array.h) reads metadata, chunks and shard indexes through it.
#ifndef CAIRN_STORAGE_ZARR_KEY_VALUE_SOURCE_H_
#define CAIRN_STORAGE_ZARR_KEY_VALUE_SOURCE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/ocdbt/ocdbt_reader.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

// Implementations must be thread-safe: chunk reads run concurrently.
class KeyValueSource {
 public:
  // ReadRange's `length` for "up to the end of the value".
  static constexpr uint64_t kToEnd = UINT64_MAX;

  virtual ~KeyValueSource() = default;

  // The whole value; NotFound when the key is absent (the zarr layer maps that to the fill value
  // or an error); DataLoss for damage.
  virtual absl::StatusOr<std::string> Read(absl::string_view key) const = 0;
  // The length of the value, NotFound as Read: lets a reader refuse a value too large for what it
  // should hold before reading it. The default reads the whole value.
  virtual absl::StatusOr<uint64_t> ValueSize(absl::string_view key) const;
  // `length` bytes from `offset` (or to the end when length is kToEnd); offset measured from the
  // end when `from_end` (for a shard index at the end). OutOfRange when the value is shorter;
  // NotFound as Read. The default reads the whole value and slices it; the sources below read
  // only the range.
  virtual absl::StatusOr<std::string> ReadRange(absl::string_view key, uint64_t offset,
                                                uint64_t length, bool from_end) const;
  // Bytes [offset, offset + length) of the value, written to `out` (which must hold `length`
  // bytes): a chunk read straight into the memory it is loaded into. OutOfRange when the value is
  // shorter; NotFound as Read. `out` may be partly written when it fails. The default reads the
  // range and copies it; the sources below read into `out` directly.
  virtual absl::Status ReadRangeInto(absl::string_view key, uint64_t offset, uint64_t length,
                                     char* out) const;
  // Keys starting with `prefix`, sorted (used to count stored chunks; may be slow).
  virtual absl::StatusOr<std::vector<std::string>> List(absl::string_view prefix) const = 0;
  // Where a key lives, for messages: `/ckpt/1/state/a/0` or
  // `key "a/0" of the OCDBT database /ckpt/1/state`.
  virtual std::string Describe(absl::string_view key) const = 0;
};

// The bytes [begin, end) that ReadRange(offset, length, from_end) means in a value of `size`
// bytes; OutOfRange naming `where` when they do not lie inside it.
absl::StatusOr<std::pair<uint64_t, uint64_t>> ResolveValueRange(uint64_t size, uint64_t offset,
                                                                uint64_t length, bool from_end,
                                                                absl::string_view where);

// Keys as files below `dir`, through `fs`: `/` in a key is a subdirectory, a key with an empty,
// "." or ".." component is InvalidArgument, no symlink is followed (the Filesystem refuses them),
// and a value larger than `max_value_bytes` is refused (FailedPrecondition) before anything is
// allocated for it. `fs` must outlive the source.
std::unique_ptr<KeyValueSource> DirectoryKeyValueSource(Filesystem& fs, std::string dir,
                                                        uint64_t max_value_bytes = uint64_t{4}
                                                                                   << 30);

// Keys in an OCDBT database; ranges of out-of-line values read only their bytes.
std::unique_ptr<KeyValueSource> OcdbtKeyValueSource(std::shared_ptr<const OcdbtReader> reader);

// Keys held in memory; `name` says where they came from in messages.
std::unique_ptr<KeyValueSource> InMemoryKeyValueSource(std::map<std::string, std::string> values,
                                                       std::string name = "memory");

}  // namespace cairn

#endif  // CAIRN_STORAGE_ZARR_KEY_VALUE_SOURCE_H_
