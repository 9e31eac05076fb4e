// Text that is not UTF-8 (a dict key, a string leaf, JSON text) is refused when saved, before
// anything is written, naming where it is: saved, it would make every load of the step fail.
#include <string>
#include <vector>

#include "cairn/manager/checkpointer.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/checkpointers.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::OpenCheckpointer;
using testing::TreesEqual;

// A lone continuation byte, an overlong '/', and an encoded surrogate: none is UTF-8.
const std::vector<std::string> kNotUtf8 = {"bad\x80", "\xc0\xaf", "\xed\xa0\x80"};

Tree WithKey(const std::string& key) {
  Tree params = Tree::Dict();
  params.Set(key, Tree::Int(1));
  Tree tree = Tree::Dict();
  tree.Set("params", std::move(params));
  return tree;
}

Tree WithString(const std::string& text) {
  Tree tree = Tree::Dict();
  tree.Set("name", Tree::String(text));
  return tree;
}

class TextEncodingTest : public ::testing::Test {
 protected:
  StoreSaveOptions StoreOptions() {
    StoreSaveOptions options;
    options.filesystem = &fs_;
    return options;
  }
  CheckpointOptions StepOptions() {
    CheckpointOptions options;
    options.filesystem = &fs_;
    return options;
  }
  void ExpectRefused(const absl::Status& status, const std::string& where) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(status.message(), HasSubstr(where));
    EXPECT_THAT(status.message(), HasSubstr("not valid UTF-8"));
    EXPECT_THAT(fs_.ListDir("/run").value_or(std::vector<std::string>{}), IsEmpty());
  }
  MemoryFilesystem fs_;
};

TEST_F(TextEncodingTest, UnicodeKeysAndStringsRoundTrip) {
  Tree tree = WithString("größe \xe2\x82\xac \xf0\x9f\x98\x80");
  tree.Set("\xce\xbb", Tree::Int(3));
  ASSERT_TRUE(SaveTree("/run/t", tree, StoreOptions()).ok());
  StoreLoadOptions load;
  load.filesystem = &fs_;
  absl::StatusOr<Tree> loaded = LoadTree("/run/t", Tree::AsSaved(), load);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, tree));
}

TEST_F(TextEncodingTest, TheStoreRefusesADictKeyThatIsNotUtf8) {
  for (const std::string& key : kNotUtf8) {
    ExpectRefused(SaveTree("/run/t", WithKey(key), StoreOptions()), "params[\"");
  }
}

TEST_F(TextEncodingTest, TheStoreRefusesAStringLeafThatIsNotUtf8) {
  for (const std::string& text : kNotUtf8) {
    ExpectRefused(SaveTree("/run/t", WithString(text), StoreOptions()), "cannot save name");
  }
}

TEST_F(TextEncodingTest, TheRefusalShowsTheBadBytesEscaped) {
  const absl::Status status = SaveTree("/run/t", WithKey("bad\x80"), StoreOptions());
  EXPECT_THAT(status.message(), HasSubstr("params[\"bad\\x80\"]"));
}

TEST_F(TextEncodingTest, BytesLeavesMayHoldAnyBytes) {
  Tree tree = Tree::Dict();
  tree.Set("blob", Tree::Bytes("\x80\xff"));
  EXPECT_TRUE(SaveTree("/run/t", tree, StoreOptions()).ok());
}

TEST_F(TextEncodingTest, ACheckpointRefusesATreeKeyOrStringThatIsNotUtf8) {
  Checkpointables keyed;
  keyed.emplace("model", WithKey("bad\x80"));
  ExpectRefused(SaveCheckpointables("/run/1", keyed, StepOptions()), "checkpointable 'model'");
  Checkpointables texted;
  texted.emplace("model", WithString("bad\x80"));
  ExpectRefused(SaveCheckpointables("/run/1", texted, StepOptions()), "cannot save name");
}

TEST_F(TextEncodingTest, AJsonCheckpointableWithTextThatIsNotUtf8IsRefusedNotThrown) {
  Checkpointables strings;
  strings.emplace("config", nlohmann::json{{"layers", {"ok", "bad\x80"}}});
  ExpectRefused(SaveCheckpointables("/run/1", strings, StepOptions()), "/layers/1");
  Checkpointables keys;
  keys.emplace("config", nlohmann::json{{"a/b", {{"bad\x80", 1}}}});
  ExpectRefused(SaveCheckpointables("/run/1", keys, StepOptions()), "/a~1b/bad");
}

TEST_F(TextEncodingTest, TheCheckpointerRefusesTextThatIsNotUtf8WhenTheSaveIsCalled) {
  CheckpointerOptions options;
  options.filesystem = &fs_;
  options.cleanup_temporaries = false;
  auto ckpt = OpenCheckpointer("/run", options);
  ExpectRefused(ckpt->SaveAsync(1, WithKey("bad\x80")).status(), "params[\"bad\\x80\"]");
  ExpectRefused(ckpt->Save(1, WithString("bad\x80")).status(), "cannot save name");
  SaveArgs args;
  args.metrics = {{"note", "bad\x80"}};
  ExpectRefused(ckpt->SaveAsync(1, WithString("fine"), args).status(), "the metrics");
  EXPECT_THAT(ckpt->AllSteps(), IsEmpty());
  EXPECT_TRUE(ckpt->Close().ok());
}

}  // namespace
}  // namespace cairn
