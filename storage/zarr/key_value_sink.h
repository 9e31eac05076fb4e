// Where a zarr array's keys are written: files below a directory (one directory per array, the
// layout Orbax calls per-leaf) or a map in memory (tests). The zarr writer
// (storage/zarr/zarr_writer.h) puts metadata and shards through it; a database of keys is a
// third implementation of the same interface.
#ifndef CAIRN_STORAGE_ZARR_KEY_VALUE_SINK_H_
#define CAIRN_STORAGE_ZARR_KEY_VALUE_SINK_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "cairn/storage/zarr/key_value_source.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

// Implementations must be thread-safe: shards of one array are put concurrently.
class KeyValueSink {
 public:
  virtual ~KeyValueSink() = default;

  // Stores `value` under `key`, replacing what the key held. Errors name the key (Describe).
  virtual absl::Status Put(std::string key, absl::string_view value) = 0;
  // Stores the concatenation of `parts` under `key`: a shard's inner chunks and index, which
  // live in separate buffers, are written without being joined first where the sink can. The
  // default joins them and calls Put.
  virtual absl::Status PutParts(std::string key, absl::Span<const absl::string_view> parts);
  // Where a key lives, for messages: `/ckpt/1/a/c/0` or `key "a/c/0" in memory`.
  virtual std::string Describe(absl::string_view key) const = 0;
};

// Keys as files below `dir`, through `fs`: `/` in a key is a subdirectory, created on demand
// (with `dir` itself); a key with an empty, "." or ".." component is InvalidArgument. With
// `sync`, every file is synced before it is closed, and every directory entry it and its
// directories add is synced too, so that what Put returned survives a power loss. `fs` must
// outlive the sink.
class DirectoryKeyValueSink final : public KeyValueSink {
 public:
  DirectoryKeyValueSink(Filesystem& fs, std::string dir, bool sync);

  absl::Status Put(std::string key, absl::string_view value) override;
  absl::Status PutParts(std::string key, absl::Span<const absl::string_view> parts) override;
  std::string Describe(absl::string_view key) const override;

 private:
  absl::Status EnsureDirectory(const std::string& path);

  Filesystem& fs_;
  const std::string dir_;
  const bool sync_;
  absl::Mutex mu_;
  // Directories known to exist (created or found by this sink), so that each is made once.
  absl::flat_hash_set<std::string> made_ ABSL_GUARDED_BY(mu_);
};

// Keys in a map; `name` says where they are in messages. Read them back with values() or as a
// KeyValueSource.
class InMemoryKeyValueSink final : public KeyValueSink {
 public:
  explicit InMemoryKeyValueSink(std::string name = "memory");

  absl::Status Put(std::string key, absl::string_view value) override;
  std::string Describe(absl::string_view key) const override;

  // A copy of what was put.
  std::map<std::string, std::string> values() const;
  // A source over a copy of what was put, named as this sink.
  std::unique_ptr<KeyValueSource> AsSource() const;

 private:
  const std::string name_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::string> values_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_STORAGE_ZARR_KEY_VALUE_SINK_H_
