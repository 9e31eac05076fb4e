// A second independent reader: npm's `safetensors` package (a small JavaScript loader) reads an
// exported file under node, and its tensors must hold the exported bytes. It runs where
// CAIRN_SAFETENSORS_JS names the package's dist/safetensors.umd.js (npm install safetensors) and
// node is on the PATH, and skips elsewhere. That loader checks no rule of the format, and fails
// on a file with __metadata__, so the file here has none; the reference reader covers the rules.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/safetensors.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

constexpr char kScript[] = R"js(
const {SafeTensor} = require(process.argv[2]);
const bytes = new Uint8Array(require('fs').readFileSync(process.argv[3]));
const file = new SafeTensor(bytes);
const out = {};
for (const [name, info] of file.metadata) {
  out[name] = {dtype: info.dtype, shape: info.shape,
               hex: Buffer.from(file.getTensor(name)).toString('hex')};
}
console.log(JSON.stringify(out));
)js";

TEST(SafetensorsJsReaderTest, NpmLoaderReadsTheExportedBytes) {
  const char* module = std::getenv("CAIRN_SAFETENSORS_JS");
  if (module == nullptr || std::system("node --version >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "set CAIRN_SAFETENSORS_JS to npm safetensors' dist/safetensors.umd.js";
  }
  testing::TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("params", Tree::Dict())
      .Set("kernel", Tree::FromArray(testing::RandomBytes(DType::kFloat32, {8, 3}, 1)));
  tree.Set("ids", Tree::FromArray(testing::RandomBytes(DType::kInt64, {5}, 2)));
  tree.Set("half", Tree::FromArray(testing::RandomBytes(DType::kBFloat16, {7}, 3)));
  tree.Set("mask", Tree::FromArray(testing::RandomBytes(DType::kUInt8, {3}, 4)));
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree).ok());
  SafetensorsExportOptions options;
  options.include_checkpoint_metadata = false;
  ASSERT_TRUE(ExportSafetensors(tmp.Join("ckpt"), tmp.Join("out.safetensors"), options).ok());
  std::ofstream(tmp.Join("read.js")) << kScript;

  const std::string command =
      absl::StrCat("node ", tmp.Join("read.js"), " '", module, "' ", tmp.Join("out.safetensors"));
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char chunk[4096];
  for (size_t got; (got = fread(chunk, 1, sizeof(chunk), pipe)) > 0;) output.append(chunk, got);
  ASSERT_EQ(pclose(pipe), 0) << output;
  const nlohmann::json read = nlohmann::json::parse(output);

  const std::pair<const char*, const Tree*> expected[] = {
      {"params.kernel", tree.Find("params")->Find("kernel")},
      {"ids", tree.Find("ids")},
      {"half", tree.Find("half")},
      {"mask", tree.Find("mask")}};
  ASSERT_EQ(read.size(), std::size(expected));
  for (const auto& [name, leaf] : expected) {
    const Array& array = leaf->array();
    EXPECT_EQ(read[name]["shape"].get<Shape>(), array.shape()) << name;
    EXPECT_EQ(read[name]["hex"].get<std::string>(),
              absl::BytesToHexString(
                  absl::string_view(static_cast<const char*>(array.data()), array.byte_size())))
        << name;
  }
  EXPECT_EQ(read["half"]["dtype"], "BF16");
  EXPECT_EQ(read["ids"]["dtype"], "I64");
}

}  // namespace
}  // namespace cairn
