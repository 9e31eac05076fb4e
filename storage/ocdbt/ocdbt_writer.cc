#include "cairn/storage/ocdbt/ocdbt_writer.h"

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cairn/storage/ocdbt/internal/btree_node.h"
#include "cairn/storage/ocdbt/internal/btree_writer.h"
#include "cairn/storage/ocdbt/internal/data_file_writer.h"
#include "cairn/storage/ocdbt/internal/database_writer.h"
#include "cairn/storage/ocdbt/internal/manifest.h"
#include "cairn/storage/ocdbt/internal/manifest_writer.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn {

using ocdbt_internal::DataFileWriter;
using ocdbt_internal::KeyToWrite;

OcdbtConfig OrbaxOcdbtConfig() {
  OcdbtConfig config;
  std::random_device device;
  for (size_t i = 0; i < config.uuid.size(); i += 4) {
    const uint32_t bits = device();
    for (size_t j = 0; j < 4; ++j) config.uuid[i + j] = static_cast<uint8_t>(bits >> (8 * j));
  }
  config.manifest_kind = OcdbtConfig::ManifestKind::kSingle;
  config.max_inline_value_bytes = 1024;
  config.max_decoded_node_bytes = 100000000;
  config.version_tree_arity_log2 = 4;
  config.compression = OcdbtConfig::Compression::kZstd;
  config.zstd_level = 0;
  return config;
}

struct OcdbtWriter::State {
  State(std::string dir, const OcdbtWriterOptions& options, Filesystem* fs)
      : dir(std::move(dir)),
        options(options),
        fs(fs),
        data_files(fs, this->dir, options.target_data_file_bytes, options.sync) {}

  const std::string dir;
  const OcdbtWriterOptions options;
  Filesystem* const fs;
  DataFileWriter data_files;

  absl::Mutex mu;
  // Keys put so far; an out-of-line value's entry is filled in once its bytes are written.
  absl::flat_hash_map<std::string, KeyToWrite> keys ABSL_GUARDED_BY(mu);
  bool finished ABSL_GUARDED_BY(mu) = false;
  absl::Status failure ABSL_GUARDED_BY(mu);  // the first failed write

  absl::Status Usable() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (finished) {
      return absl::FailedPreconditionError(
          absl::StrCat("the OCDBT database ", dir, " is already finished"));
    }
    if (!failure.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("an earlier write to the OCDBT database ",
                                                        dir, " failed: ", failure.message()));
    }
    return absl::OkStatus();
  }
};

OcdbtWriter::OcdbtWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
OcdbtWriter::~OcdbtWriter() = default;

const std::string& OcdbtWriter::dir() const { return state_->dir; }

absl::StatusOr<std::unique_ptr<OcdbtWriter>> OcdbtWriter::Create(std::string dir,
                                                                 OcdbtWriterOptions options) {
  CAIRN_ASSIGN_OR_RETURN(ocdbt_internal::DatabaseDir target,
                         ocdbt_internal::PrepareDatabaseDir(dir, options));
  return std::unique_ptr<OcdbtWriter>(
      new OcdbtWriter(std::make_unique<State>(std::move(target.dir), options, target.fs)));
}

absl::Status OcdbtWriter::PutParts(std::string key, absl::Span<const absl::string_view> parts) {
  State& s = *state_;
  uint64_t size = 0;
  for (absl::string_view part : parts) size += part.size();
  if (key.size() > ocdbt_internal::kMaxKeyLength) {
    return absl::InvalidArgumentError(absl::StrCat("OCDBT key of ", key.size(),
                                                   " bytes is longer than the limit of ",
                                                   ocdbt_internal::kMaxKeyLength));
  }
  const bool inline_value = size <= s.options.config.max_inline_value_bytes;
  {
    absl::MutexLock lock(&s.mu);
    CAIRN_RETURN_IF_ERROR(s.Usable());
    auto [it, inserted] = s.keys.try_emplace(key);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat("key \"", key, "\" put twice into the OCDBT database ", s.dir));
    }
    it->second.key = key;
    if (inline_value) {
      it->second.value = absl::StrJoin(parts, "");
      return absl::OkStatus();
    }
    it->second.inline_value = false;
    it->second.length = size;
  }
  absl::StatusOr<DataFileWriter::Location> written = s.data_files.WriteParts(parts);
  absl::MutexLock lock(&s.mu);
  if (!written.ok()) {
    if (s.failure.ok()) s.failure = written.status();
    return Annotate(written.status(), absl::StrCat("putting key \"", key, "\""));
  }
  KeyToWrite& entry = s.keys.at(key);
  entry.file = written->file;
  entry.offset = written->offset;
  return absl::OkStatus();
}

absl::Status OcdbtWriter::Finish() {
  State& s = *state_;
  std::vector<KeyToWrite> keys;
  {
    absl::MutexLock lock(&s.mu);
    CAIRN_RETURN_IF_ERROR(s.Usable());
    s.finished = true;
    keys.reserve(s.keys.size());
    for (auto& [key, entry] : s.keys) keys.push_back(std::move(entry));
    s.keys.clear();
  }
  std::sort(keys.begin(), keys.end(),
            [](const KeyToWrite& a, const KeyToWrite& b) { return a.key < b.key; });
  return ocdbt_internal::CommitDatabase(*s.fs, s.dir, s.options, std::move(keys), s.data_files);
}

}  // namespace cairn
