#include "tests/support/ocdbt_golden.h"

#include <zstd.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace cairn::ocdbt_test {

std::string GoldenRoot() {
  std::error_code ec;
  std::string root = CAIRN_SHARED_DIR "/orbax-golden";
  return std::filesystem::is_directory(root, ec) ? root : "";
}

std::vector<std::string> GoldenDatabases() {
  std::vector<std::string> dirs;
  const std::string root = GoldenRoot();
  if (root.empty()) return dirs;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() && entry.path().filename() == "manifest.ocdbt") {
      dirs.push_back(entry.path().parent_path().string());
    }
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

std::string PristineState(absl::string_view layout) {
  std::string dir = absl::StrCat(GoldenRoot(), "/", layout,
                                 "/checkpoint_metadata_present/pytree_checkpointable_has_metadata");
  if (layout.find("direct") == layout.npos) absl::StrAppend(&dir, "/state");
  return dir;
}

absl::StatusOr<std::string> ZstdDecompress(absl::string_view compressed) {
  ZSTD_DStream* stream = ZSTD_createDStream();
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  std::string out;
  char buffer[4096];
  size_t pending = 1;
  while (in.pos < in.size || pending != 0) {
    ZSTD_outBuffer piece{buffer, sizeof(buffer), 0};
    pending = ZSTD_decompressStream(stream, &piece, &in);
    if (ZSTD_isError(pending)) {
      ZSTD_freeDStream(stream);
      return absl::DataLossError(ZSTD_getErrorName(pending));
    }
    out.append(buffer, piece.pos);
    if (piece.pos == 0 && in.pos == in.size && pending != 0) {
      ZSTD_freeDStream(stream);
      return absl::DataLossError("truncated zstd frame");
    }
  }
  ZSTD_freeDStream(stream);
  return out;
}

}  // namespace cairn::ocdbt_test
