// Every rule a safetensors reader must enforce, each broken by a crafted file: the reader and
// the import refuse it with a status that names the tensor and the rule.
#include <cstdint>
#include <fstream>
#include <string>

#include "cairn/steps/checkpoint.h"
#include "cairn/steps/safetensors.h"
#include "cairn/storage/safetensors/safetensors_header.h"
#include "cairn/storage/safetensors/safetensors_reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

std::string Prefix(uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out;
}

// A file of `header` (as given, unpadded) followed by `data`.
std::string Craft(const std::string& header, const std::string& data) {
  return Prefix(header.size()) + header + data;
}

absl::Status Parse(const std::string& file) {
  return ParseSafetensorsFile(file, "crafted.safetensors").status();
}

void ExpectViolation(const std::string& file, absl::string_view rule, absl::string_view tensor) {
  absl::Status status = Parse(file);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(status.message(), HasSubstr(std::string(rule)));
  EXPECT_THAT(status.message(), HasSubstr(std::string(tensor)));
  EXPECT_THAT(status.message(), HasSubstr("crafted.safetensors"));
}

const std::string kEightBytes(8, 'x');

TEST(SafetensorsValidationTest, AWellFormedFileParses) {
  absl::StatusOr<SafetensorsHeader> header =
      ParseSafetensorsFile(Craft(R"({"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]},)"
                                 R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                 R"("__metadata__":{"k":"v"}}   )",
                                 kEightBytes),
                           "ok");
  ASSERT_TRUE(header.ok()) << header.status();
  ASSERT_EQ(header->tensors.size(), 2u);
  EXPECT_EQ(header->tensors[0].name, "a");
  EXPECT_EQ(header->tensors[1].dtype, DType::kUInt8);
  EXPECT_EQ(header->metadata.at("k"), "v");
}

TEST(SafetensorsValidationTest, AFileShorterThanTheSizeIsRefused) {
  ExpectViolation("\x02\0\0", "shorter than the 8-byte header size", "");
}

TEST(SafetensorsValidationTest, AHeaderOverTheCapIsRefused) {
  ExpectViolation(Prefix(100'000'001) + "{}", "over the limit", "");
}

TEST(SafetensorsValidationTest, AHeaderPastTheEndOfTheFileIsRefused) {
  ExpectViolation(Prefix(64) + "{}", "runs past the end", "");
}

TEST(SafetensorsValidationTest, AHeaderThatIsNotJsonIsRefused) {
  ExpectViolation(Craft(R"({"a": )", ""), "not JSON", "");
}

TEST(SafetensorsValidationTest, AHeaderThatIsNotAnObjectIsRefused) {
  ExpectViolation(Craft("[1, 2]", ""), "does not start with '{'", "");
}

TEST(SafetensorsValidationTest, DuplicateKeysAreRefused) {
  ExpectViolation(Craft(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                        R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                        "xy"),
                  "duplicate key", "\"a\"");
}

TEST(SafetensorsValidationTest, DuplicateFieldsInsideATensorAreRefused) {
  ExpectViolation(
      Craft(R"({"a":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}})", "x"),
      "duplicate key", "\"dtype\"");
}

TEST(SafetensorsValidationTest, AnUnknownDTypeIsRefused) {
  ExpectViolation(Craft(R"({"w":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}})", "abcd"),
                  "unknown dtype", "\"w\"");
}

TEST(SafetensorsValidationTest, AFormatDTypeWithoutACairnTypeIsInvalidArgument) {
  absl::Status status =
      Parse(Craft(R"({"w":{"dtype":"F8_E8M0","shape":[1],"data_offsets":[0,1]}})", "a"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("\"w\""));
  EXPECT_THAT(status.message(), HasSubstr("F8_E8M0"));
}

TEST(SafetensorsValidationTest, AMissingFieldIsRefused) {
  ExpectViolation(Craft(R"({"w":{"dtype":"U8","shape":[1]}})", "a"), "has no data_offsets",
                  "\"w\"");
}

TEST(SafetensorsValidationTest, ATensorThatIsNotAnObjectIsRefused) {
  ExpectViolation(Craft(R"({"w":[1]})", ""), "not a JSON object", "\"w\"");
}

TEST(SafetensorsValidationTest, ANegativeDimensionIsRefused) {
  ExpectViolation(Craft(R"({"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}})", ""),
                  "non-negative integer", "\"w\"");
}

TEST(SafetensorsValidationTest, AFractionalOffsetIsRefused) {
  ExpectViolation(Craft(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0.0,1]}})", "a"),
                  "non-negative integer", "\"w\"");
}

TEST(SafetensorsValidationTest, BeginAfterEndIsRefused) {
  ExpectViolation(Craft(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}})", "a"),
                  "is past end", "\"w\"");
}

TEST(SafetensorsValidationTest, ASizeThatDisagreesWithTheShapeIsRefused) {
  ExpectViolation(Craft(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "abcd"),
                  "needs 8 bytes but data_offsets span 4", "\"w\"");
}

TEST(SafetensorsValidationTest, AnOverflowingShapeIsRefused) {
  ExpectViolation(Craft(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],)"
                        R"("data_offsets":[0,4]}})",
                        "abcd"),
                  "too large", "\"w\"");
}

TEST(SafetensorsValidationTest, OverlappingTensorsAreRefused) {
  ExpectViolation(Craft(R"({"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},)"
                        R"("b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
                        "abcd"),
                  "overlaps", "\"b\"");
}

TEST(SafetensorsValidationTest, AHoleBetweenTensorsIsRefused) {
  ExpectViolation(Craft(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                        R"("b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
                        "abcd"),
                  "belong to no tensor", "\"b\"");
}

TEST(SafetensorsValidationTest, ATensorPastTheBufferIsRefused) {
  ExpectViolation(Craft(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})", "abcd"),
                  "past the 4-byte data buffer", "\"a\"");
}

TEST(SafetensorsValidationTest, BytesAfterTheLastTensorAreRefused) {
  ExpectViolation(Craft(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", "abcd"),
                  "bytes 2 to 4 of the data buffer belong to no tensor", "");
}

TEST(SafetensorsValidationTest, MetadataThatIsNotStringsIsRefused) {
  ExpectViolation(Craft(R"({"__metadata__":{"epoch":3}})", ""), "is not a string", "\"epoch\"");
  ExpectViolation(Craft(R"({"__metadata__":["x"]})", ""), "__metadata__ is not", "");
}

TEST(SafetensorsValidationTest, NestingDeeperThanAShapeIsRefused) {
  ExpectViolation(Craft(R"({"w":{"dtype":"U8","shape":[[1]],"data_offsets":[0,1]}})", "a"),
                  "nests deeper", "");
  ExpectViolation(Craft(std::string(100000, '[') + std::string(100000, ']'), ""),
                  "does not start with", "");
  ExpectViolation(Craft("{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}", ""),
                  "nests deeper", "");
}

TEST(SafetensorsValidationTest, AHeaderThatIsNotUtf8IsRefused) {
  ExpectViolation(Craft("{\"\xff\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", ""),
                  "not JSON", "");
}

TEST(SafetensorsValidationTest, AnEmptyHeaderWithNoDataIsValid) {
  absl::StatusOr<SafetensorsHeader> header = ParseSafetensorsFile(Craft("{}      ", ""), "empty");
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_TRUE(header->tensors.empty());
}

class SafetensorsImportValidationTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& contents) {
    const std::string path = tmp_.Join("in.safetensors");
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }
  TempDir tmp_;
};

TEST_F(SafetensorsImportValidationTest, ABrokenFileCreatesNoCheckpoint) {
  const std::string in =
      Write(Craft(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", kEightBytes));
  absl::Status status = ImportSafetensors(in, tmp_.Join("ckpt"));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(status.message(), HasSubstr("\"w\""));
  EXPECT_FALSE(std::filesystem::exists(tmp_.Join("ckpt")));
}

TEST_F(SafetensorsImportValidationTest, ATruncatedFileIsRefused) {
  const std::string file =
      Craft(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", kEightBytes);
  absl::Status status = ImportSafetensors(Write(file.substr(0, file.size() - 3)), tmp_.Join("c"));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(status.message(), HasSubstr("past the 5-byte data buffer"));
}

TEST_F(SafetensorsImportValidationTest, ATensorThatIsAlsoAPrefixDoesNotNest) {
  const std::string in = Write(Craft(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                     R"("a.b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                                     "xy"));
  absl::Status status = ImportSafetensors(in, tmp_.Join("ckpt"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("nest off"));
  SafetensorsImportOptions flat;
  flat.nest = false;
  EXPECT_TRUE(ImportSafetensors(in, tmp_.Join("ckpt"), flat).ok());
}

TEST_F(SafetensorsImportValidationTest, ANameWithAnEmptyPartDoesNotNest) {
  const std::string in =
      Write(Craft(R"({"a..b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", "x"));
  absl::Status status = ImportSafetensors(in, tmp_.Join("ckpt"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("empty part"));
}

TEST_F(SafetensorsImportValidationTest, MisalignedTensorsFromOtherWritersImport) {
  // A U8 of one byte puts the F32 after it at an odd offset, and the header is not padded.
  std::string data = "z";
  const float values[2] = {1.5f, -2.0f};
  data.append(reinterpret_cast<const char*>(values), sizeof(values));
  const std::string in = Write(Craft(R"({"u":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                     R"("f":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}})",
                                     data));
  ASSERT_TRUE(ImportSafetensors(in, tmp_.Join("ckpt")).ok());
  absl::StatusOr<Tree> back = Load(tmp_.Join("ckpt"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(testing::Values<float>(*back->Find("f")), std::vector<float>({1.5f, -2.0f}));
  EXPECT_EQ(testing::Values<uint8_t>(*back->Find("u")), std::vector<uint8_t>({'z'}));
}

}  // namespace
}  // namespace cairn
