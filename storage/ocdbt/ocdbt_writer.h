// A writer of one OCDBT database (TensorStore's key-value store, which Orbax writes its arrays
// into), so that a checkpoint written by cairn opens in Orbax: keys are put from any number of
// threads, then Finish writes the B+tree and the manifest. Values longer than the inline limit
// go to data files at once; shorter ones stay in memory until Finish puts them in the leaves.
// docs/OCDBT.md ("Writing") describes what is written.
#ifndef CAIRN_STORAGE_OCDBT_OCDBT_WRITER_H_
#define CAIRN_STORAGE_OCDBT_OCDBT_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cairn/storage/ocdbt/ocdbt_types.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

// The configuration Orbax's databases carry, with a fresh random uuid: values up to 1024 bytes
// inline, nodes of at most 100,000,000 decoded bytes, version tree arity 16, zstd at level 0
// (zstd's default).
OcdbtConfig OrbaxOcdbtConfig();

struct OcdbtWriterOptions {
  Filesystem* filesystem = nullptr;  // Filesystem::Default() when null
  OcdbtConfig config = OrbaxOcdbtConfig();
  // A new data file is started when the current one would grow past this (0: never). Orbax's
  // default, 2 GiB, on local disks (it uses 400 MiB on Cloud Storage).
  uint64_t target_data_file_bytes = uint64_t{2} << 30;
  // B+tree nodes are cut at this many decoded bytes (an upper bound; never more than
  // config.max_decoded_node_bytes), so that a lookup reads a small leaf.
  uint64_t target_node_bytes = uint64_t{64} << 10;
  // Make the data files, the manifest and the directories durable (fsync) before Finish returns.
  bool sync = true;
  uint64_t commit_time_nanos = 0;  // since the Unix epoch; 0: the time of Finish
};

// Put is thread-safe; Finish is called once, after every Put has returned.
class OcdbtWriter {
 public:
  // Creates `dir` when missing. AlreadyExists when it holds a manifest already; InvalidArgument
  // for a configuration the format cannot hold.
  static absl::StatusOr<std::unique_ptr<OcdbtWriter>> Create(std::string dir,
                                                             OcdbtWriterOptions options = {});
  ~OcdbtWriter();
  OcdbtWriter(const OcdbtWriter&) = delete;
  OcdbtWriter& operator=(const OcdbtWriter&) = delete;

  // Stores `value` under `key`. A value longer than config.max_inline_value_bytes is written to
  // a data file before Put returns (no copy is kept); shorter ones are held until Finish.
  // InvalidArgument for a key put twice or longer than 65535 bytes; FailedPrecondition after
  // Finish or after an earlier write failed (the database can no longer be complete). Errors of
  // the filesystem name the file.
  absl::Status Put(std::string key, absl::string_view value) {
    return PutParts(std::move(key), {value});
  }
  // Stores the concatenation of `parts` under `key`, as Put would, without joining them first
  // when the value goes out of line (a shard's inner chunks, straight from an array's memory).
  absl::Status PutParts(std::string key, absl::Span<const absl::string_view> parts);

  // Writes the B+tree and then the manifest (generation 1), and with `sync` makes all of it
  // durable. An empty database is valid. The manifest is written last, under a temporary name
  // renamed into place: after any failure there is no manifest.ocdbt, and nothing claims to be
  // complete. FailedPrecondition when called twice or after a failed Put.
  absl::Status Finish();

  const std::string& dir() const;

 private:
  struct State;
  explicit OcdbtWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace cairn

#endif  // CAIRN_STORAGE_OCDBT_OCDBT_WRITER_H_
