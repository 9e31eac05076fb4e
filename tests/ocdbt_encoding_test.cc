// The writer's encoders held to Orbax's real files: every golden manifest and every golden root
// B+tree node, decoded and encoded again, gives the same bytes, framing and zstd included, so
// what the writer writes is encoded as TensorStore encodes it.
#include <string>

#include "cairn/storage/ocdbt/internal/btree_node.h"
#include "cairn/storage/ocdbt/internal/encoded_object.h"
#include "cairn/storage/ocdbt/internal/manifest.h"
#include "cairn/utils/filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "gtest/gtest.h"
#include "tests/support/ocdbt_golden.h"

namespace cairn {
namespace {

using ocdbt_internal::BtreeNode;
using ocdbt_internal::Manifest;

TEST(OcdbtEncodingTest, GoldenManifestsAndRootNodesEncodeToTheSameBytes) {
  if (ocdbt_test::GoldenRoot().empty()) GTEST_SKIP() << "golden files absent";
  Filesystem& fs = *Filesystem::Default();
  int manifests = 0;
  int nodes = 0;
  for (const std::string& dir : ocdbt_test::GoldenDatabases()) {
    SCOPED_TRACE(dir);
    auto encoded = ReadFileToString(fs, dir + "/manifest.ocdbt", 1 << 20);
    ASSERT_TRUE(encoded.ok());
    auto manifest = ocdbt_internal::DecodeManifest(*encoded);
    if (!manifest.ok()) continue;  // the golden set's damaged manifests
    const OcdbtConfig& config = manifest->config;
    auto again = ocdbt_internal::EncodeEncodedObject(ocdbt_internal::kManifestMagic,
                                                     ocdbt_internal::EncodeManifestBody(*manifest),
                                                     config.compression, config.zstd_level);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *encoded);
    ++manifests;

    const auto& latest = manifest->versions.back();
    if (latest.version.empty) continue;
    const std::string node_path = dir + "/" + manifest->files[latest.root.file].path();
    auto file = ReadFileToString(fs, node_path, 1 << 20);
    if (!file.ok()) continue;  // the golden set's missing data files
    const std::string node_bytes = file->substr(latest.root.offset, latest.root.length);
    auto node = ocdbt_internal::DecodeBtreeNode(node_bytes, "", config.max_decoded_node_bytes);
    ASSERT_TRUE(node.ok()) << node.status();
    auto node_again = ocdbt_internal::EncodeEncodedObject(
        ocdbt_internal::kBtreeNodeMagic, ocdbt_internal::EncodeBtreeNodeBody(*node),
        config.compression, config.zstd_level);
    ASSERT_TRUE(node_again.ok());
    EXPECT_EQ(*node_again, node_bytes);
    ++nodes;
  }
  EXPECT_GE(manifests, 40);
  EXPECT_GE(nodes, 40);
}

}  // namespace
}  // namespace cairn
