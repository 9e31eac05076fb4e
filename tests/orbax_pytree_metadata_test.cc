// Orbax's pytree metadata file (_METADATA) as parsed: leaves, key paths, value kinds, the storage
// flags, and the damaged files that must be refused.
#include "cairn/storage/orbax/orbax_pytree_metadata.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

constexpr char kFile[] = "/ckpt/state/_METADATA";

std::string Entry(const std::string& keypath, const std::string& keys, const std::string& type,
                  const std::string& extra = "") {
  return "\"" + keypath + "\": {\"key_metadata\": [" + keys +
         "], \"value_metadata\": {\"value_type\": \"" + type + "\"" + extra + "}}";
}

std::string Document(const std::string& entries, const std::string& flags = "") {
  return "{\"tree_metadata\": {" + entries + "}" + flags + "}";
}

TEST(OrbaxPyTreeMetadataTest, ParsesLeavesKeysAndFlags) {
  const std::string text = Document(
      Entry("('params', 'w')", R"({"key": "params", "key_type": 2}, {"key": "w", "key_type": 2})",
            "jax.Array", R"(, "skip_deserialize": false, "write_shape": [4, 2])") +
          ", " +
          Entry("('opt', '0')", R"({"key": "opt", "key_type": 2}, {"key": "0", "key_type": 1})",
                "scalar"),
      R"(, "use_ocdbt": false, "use_zarr3": true, "store_array_data_equal_to_fill_value": true,
         "custom_metadata": {"note": 1})");
  absl::StatusOr<OrbaxPyTreeMetadata> parsed = ParseOrbaxPyTreeMetadata(text, kFile);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->leaves.size(), 2u);
  const OrbaxLeaf* w = nullptr;
  const OrbaxLeaf* opt = nullptr;
  for (const OrbaxLeaf& leaf : parsed->leaves) (leaf.param_name == "params.w" ? w : opt) = &leaf;
  ASSERT_NE(w, nullptr);
  ASSERT_NE(opt, nullptr);
  EXPECT_EQ(w->kind, OrbaxValueKind::kArray);
  EXPECT_EQ(w->write_shape, Shape({4, 2}));
  EXPECT_FALSE(w->keys[1].sequence);
  EXPECT_EQ(opt->param_name, "opt.0");
  EXPECT_EQ(opt->kind, OrbaxValueKind::kScalar);
  EXPECT_TRUE(opt->keys[1].sequence);
  EXPECT_EQ(parsed->use_ocdbt, false);
  EXPECT_TRUE(parsed->use_zarr3);
  EXPECT_TRUE(parsed->store_array_data_equal_to_fill_value);
  EXPECT_EQ(parsed->custom_metadata, nlohmann::json({{"note", 1}}));
}

TEST(OrbaxPyTreeMetadataTest, OlderFilesLeaveTheLayoutOpen) {
  absl::StatusOr<OrbaxPyTreeMetadata> parsed = ParseOrbaxPyTreeMetadata(
      Document(Entry("('a',)", R"({"key": "a", "key_type": 2})", "np.ndarray")), kFile);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_FALSE(parsed->use_ocdbt.has_value());
  EXPECT_FALSE(parsed->use_zarr3);
  EXPECT_FALSE(parsed->store_array_data_equal_to_fill_value);
}

TEST(OrbaxPyTreeMetadataTest, EmptyContainersAndCustomTypesHaveTheirKinds) {
  absl::StatusOr<OrbaxPyTreeMetadata> parsed = ParseOrbaxPyTreeMetadata(
      Document(Entry("('a',)", R"({"key": "a", "key_type": 2})", "Dict") + ", " +
               Entry("('b',)", R"({"key": "b", "key_type": 2})", "None") + ", " +
               Entry("('c',)", R"({"key": "c", "key_type": 2})", "NamedTuple") + ", " +
               Entry("('d',)", R"({"key": "d", "key_type": 2})", "my.CustomType")),
      kFile);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  std::map<std::string, OrbaxValueKind> kinds;
  for (const OrbaxLeaf& leaf : parsed->leaves) kinds[leaf.param_name] = leaf.kind;
  EXPECT_EQ(kinds["a"], OrbaxValueKind::kEmptyDict);
  EXPECT_EQ(kinds["b"], OrbaxValueKind::kNone);
  EXPECT_EQ(kinds["c"], OrbaxValueKind::kEmptyTuple);
  EXPECT_EQ(kinds["d"], OrbaxValueKind::kUnsupported);
}

void ExpectDataLoss(const std::string& text, const std::string& why) {
  absl::StatusOr<OrbaxPyTreeMetadata> parsed = ParseOrbaxPyTreeMetadata(text, kFile);
  ASSERT_FALSE(parsed.ok()) << text;
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss) << text;
  EXPECT_THAT(parsed.status().message(), HasSubstr(kFile));
  EXPECT_THAT(parsed.status().message(), HasSubstr(why)) << text;
}

TEST(OrbaxPyTreeMetadataTest, RefusesTextThatIsNotJson) { ExpectDataLoss("dummy", kFile); }

TEST(OrbaxPyTreeMetadataTest, RefusesAFileWithoutTreeMetadata) {
  ExpectDataLoss(R"({"use_ocdbt": true})", "no tree_metadata");
}

TEST(OrbaxPyTreeMetadataTest, RefusesMalformedKeys) {
  ExpectDataLoss(Document(Entry("('a',)", "", "jax.Array")), "no key_metadata");
  ExpectDataLoss(Document(Entry("('a',)", R"({"key": "a", "key_type": 7})", "jax.Array")),
                 "unknown key_type 7");
  ExpectDataLoss(Document(Entry("('a',)", R"({"key": "x", "key_type": 1})", "jax.Array")),
                 "not a number");
  ExpectDataLoss(Document(Entry("('a',)", R"({"key": ["a"], "key_type": 2})", "jax.Array")),
                 "not a string");
}

TEST(OrbaxPyTreeMetadataTest, RefusesParameterNamesThatCollide) {
  ExpectDataLoss(
      Document(Entry("('a.b',)", R"({"key": "a.b", "key_type": 2})", "jax.Array") + ", " +
               Entry("('a', 'b')", R"({"key": "a", "key_type": 2}, {"key": "b", "key_type": 2})",
                     "jax.Array")),
      "share the parameter name 'a.b'");
}

TEST(OrbaxPyTreeMetadataTest, RefusesFieldsOfTheWrongType) {
  ExpectDataLoss(Document(Entry("('a',)", R"({"key": "a", "key_type": 2})", "jax.Array"),
                          R"(, "use_ocdbt": "yes")"),
                 "use_ocdbt is not a boolean");
  ExpectDataLoss(Document(Entry("('a',)", R"({"key": "a", "key_type": 2})", "jax.Array",
                                R"(, "write_shape": [-1])")),
                 "malformed write_shape");
}

}  // namespace
}  // namespace cairn
