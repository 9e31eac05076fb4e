// Checkpoints of named checkpointables: saving and loading each built-in kind, subsets, user
// handlers and objects, metadata, and the errors for names and handlers that do not fit.
#include "cairn/steps/checkpoint.h"

#include <filesystem>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "cairn/utils/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using testing::SampleTree;
using testing::TempDir;
using testing::TreesEqual;

// A data iterator whose position is checkpointed and restored in place.
class FakeIterator : public StatefulObject {
 public:
  explicit FakeIterator(int64_t position = 0) : position(position) {}
  std::string type_name() const override { return "fake_iterator.v1"; }
  absl::Status SaveState(Filesystem& fs, const std::string& dir) const override {
    return WriteStringToFile(fs, JoinPath(dir, "position"), std::to_string(position), true);
  }
  absl::Status RestoreState(Filesystem& fs, const std::string& dir) override {
    absl::StatusOr<std::string> text = ReadFileToString(fs, JoinPath(dir, "position"), 64);
    if (!text.ok()) return text.status();
    position = std::stoll(*text);
    return absl::OkStatus();
  }
  int64_t position;
};

class OtherObject : public FakeIterator {
 public:
  std::string type_name() const override { return "other.v1"; }
};

Checkpointables MixedItems() {
  Checkpointables items;
  items.emplace("state", SampleTree());
  items.emplace("config", nlohmann::json{{"lr", 0.1}, {"layers", 4}});
  items.emplace("blob", RawBytes{std::string("\0\xff raw", 6)});
  items.emplace("dataset", std::make_shared<FakeIterator>(1234));
  return items;
}

TEST(Checkpoint, EveryBuiltInKindRoundTrips) {
  TempDir tmp;
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("step_1"), MixedItems()).ok());
  auto iterator = std::make_shared<FakeIterator>();
  absl::StatusOr<Checkpointables> loaded = LoadCheckpointables(
      tmp.Join("step_1"), {{"state", std::nullopt},
                           {"config", std::nullopt},
                           {"blob", std::nullopt},
                           {"dataset", Checkpointable(std::shared_ptr<StatefulObject>(iterator))}});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(std::get<Tree>(loaded->at("state")), SampleTree()));
  EXPECT_EQ(std::get<nlohmann::json>(loaded->at("config"))["layers"], 4);
  EXPECT_EQ(std::get<RawBytes>(loaded->at("blob")).data, std::string("\0\xff raw", 6));
  EXPECT_EQ(iterator->position, 1234);
}

TEST(Checkpoint, LoadingASubsetReadsOnlyThose) {
  TempDir tmp;
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("ckpt"), MixedItems()).ok());
  std::filesystem::remove_all(tmp.Join("ckpt/state"));  // not asked for, so never read
  absl::StatusOr<Checkpointables> loaded =
      LoadCheckpointables(tmp.Join("ckpt"), {{"config", std::nullopt}});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->size(), 1u);
}

TEST(Checkpoint, MissingNameListsWhatIsThere) {
  TempDir tmp;
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("ckpt"), MixedItems()).ok());
  absl::StatusOr<Checkpointables> loaded =
      LoadCheckpointables(tmp.Join("ckpt"), {{"optimizer", std::nullopt}});
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(loaded.status().message(), HasSubstr("no checkpointable named 'optimizer'"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("blob, config, dataset, state"));
}

TEST(Checkpoint, WrongHandlerIsAClearError) {
  TempDir tmp;
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("ckpt"), MixedItems()).ok());
  absl::StatusOr<Checkpointables> loaded =
      LoadCheckpointables(tmp.Join("ckpt"), {{"config", Checkpointable(Tree::AsSaved())}});
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("was written by cairn.JsonHandler but the request is for "
                        "cairn.PyTreeHandler"));
}

TEST(Checkpoint, ObjectOfAnotherTypeIsRefused) {
  TempDir tmp;
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("ckpt"), MixedItems()).ok());
  absl::StatusOr<Checkpointables> loaded = LoadCheckpointables(
      tmp.Join("ckpt"),
      {{"dataset",
        Checkpointable(std::shared_ptr<StatefulObject>(std::make_shared<OtherObject>()))}});
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("fake_iterator.v1"));
}

TEST(Checkpoint, ObjectNeedsATargetToRestoreInto) {
  TempDir tmp;
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("ckpt"), MixedItems()).ok());
  absl::StatusOr<Checkpointables> loaded =
      LoadCheckpointables(tmp.Join("ckpt"), {{"dataset", std::nullopt}});
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("pass the object to restore into"));
}

TEST(Checkpoint, LoadingEverythingLoadsTheRestAndNamesTheStatefulObjects) {
  TempDir tmp;
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("ckpt"), MixedItems()).ok());
  absl::StatusOr<Checkpointables> loaded = LoadCheckpointables(tmp.Join("ckpt"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->size(), 4u);
  EXPECT_TRUE(TreesEqual(std::get<Tree>(loaded->at("state")), SampleTree()));
  EXPECT_EQ(std::get<nlohmann::json>(loaded->at("config"))["layers"], 4);
  EXPECT_EQ(std::get<RawBytes>(loaded->at("blob")).data, std::string("\0\xff raw", 6));
  const auto* unrestored = dynamic_cast<const UnrestoredObject*>(
      std::get<std::shared_ptr<StatefulObject>>(loaded->at("dataset")).get());
  ASSERT_NE(unrestored, nullptr);
  EXPECT_EQ(unrestored->type_name(), "fake_iterator.v1");
  EXPECT_EQ(unrestored->dir(), JoinPath(tmp.Join("ckpt"), "dataset"));
}

TEST(Checkpoint, AnUnrestoredObjectCannotBeSavedAsIfItWereState) {
  TempDir tmp;
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("ckpt"), MixedItems()).ok());
  absl::StatusOr<Checkpointables> loaded = LoadCheckpointables(tmp.Join("ckpt"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const absl::Status saved = SaveCheckpointables(tmp.Join("copy"), *loaded);
  EXPECT_EQ(saved.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(saved.message(), HasSubstr("was not restored"));
  EXPECT_FALSE(std::filesystem::exists(tmp.Join("copy")));
}

// A user type: text saved upper-cased by its own handler.
class ShoutHandler : public CheckpointableHandler {
 public:
  std::string name() const override { return "test.ShoutHandler"; }
  bool Handles(const Checkpointable& value) const override {
    const auto* json = std::get_if<nlohmann::json>(&value);
    return json != nullptr && json->is_string();
  }
  absl::Status Save(const std::string& dir, const Checkpointable& value,
                    const HandlerContext& context) const override {
    std::string text = std::get<nlohmann::json>(value).get<std::string>();
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return WriteStringToFile(*context.filesystem, JoinPath(dir, "shout.txt"), text, true);
  }
  absl::StatusOr<Checkpointable> Load(const std::string& dir, const LoadRequest&,
                                      const HandlerContext& context) const override {
    absl::StatusOr<std::string> text =
        ReadFileToString(*context.filesystem, JoinPath(dir, "shout.txt"), 1024);
    if (!text.ok()) return text.status();
    return Checkpointable(nlohmann::json(*text));
  }
};

TEST(Checkpoint, UserHandlersAreRecordedAndUsed) {
  TempDir tmp;
  HandlerRegistry registry;
  ASSERT_TRUE(registry.Register(std::make_shared<ShoutHandler>()).ok());
  EXPECT_EQ(registry.Register(std::make_shared<ShoutHandler>()).code(),
            absl::StatusCode::kAlreadyExists);
  CheckpointOptions options;
  options.registry = &registry;
  Checkpointables items;
  items.emplace("motto", nlohmann::json("keep going"));
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("ckpt"), items, options).ok());
  absl::StatusOr<CheckpointMetadata> metadata = CheckpointMetadataOf(tmp.Join("ckpt"));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->item_handlers.at("motto"), "test.ShoutHandler");
  absl::StatusOr<Checkpointables> loaded = LoadCheckpointables(tmp.Join("ckpt"), {}, options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(std::get<nlohmann::json>(loaded->at("motto")), "KEEP GOING");
  // Without the handler registered, the recorded name cannot be read.
  EXPECT_EQ(LoadCheckpointables(tmp.Join("ckpt")).status().code(), absl::StatusCode::kNotFound);
}

TEST(CheckpointMetadata, RecordsTimestampsHandlersAndUserFields) {
  TempDir tmp;
  CheckpointOptions options;
  options.custom_metadata = {{"custom", "meta"}};
  options.metrics = {{"loss", 0.5}};
  const absl::Time before = absl::Now();
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("ckpt"), MixedItems(), options).ok());
  absl::StatusOr<CheckpointMetadata> metadata = CheckpointMetadataOf(tmp.Join("ckpt"));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_GE(*metadata->init_time(), before - absl::Seconds(1));
  EXPECT_GE(*metadata->commit_time(), *metadata->init_time());
  EXPECT_EQ(metadata->item_handlers.at("state"), "cairn.PyTreeHandler");
  EXPECT_EQ(metadata->item_handlers.at("dataset"), "cairn.StatefulObjectHandler/fake_iterator.v1");
  EXPECT_EQ(metadata->custom_metadata["custom"], "meta");
  EXPECT_EQ(metadata->metrics["loss"], 0.5);
}

TEST(CheckpointMetadata, UnknownFieldsAreKept) {
  nlohmann::json json = {{"init_timestamp_nsecs", 1778718341396223910},
                         {"item_handlers", {{"state", "orbax.PyTreeCheckpointHandler"}}},
                         {"from_the_future", {{"x", 1}}}};
  absl::StatusOr<CheckpointMetadata> metadata = CheckpointMetadata::FromJson(json);
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->ToJson()["from_the_future"]["x"], 1);
  EXPECT_EQ(*metadata->init_timestamp_nsecs, 1778718341396223910);
  EXPECT_FALSE(metadata->commit_timestamp_nsecs.has_value());
}

TEST(CheckpointMetadata, MalformedFileIsDataLossButLoadsThatDoNotNeedItWork) {
  TempDir tmp;
  ASSERT_TRUE(Save(tmp.Join("ckpt"), SampleTree()).ok());
  ASSERT_TRUE(WriteStringToFile(*Filesystem::Default(), tmp.Join("ckpt/_CHECKPOINT_METADATA"),
                                "{not json", false)
                  .ok());
  absl::StatusOr<CheckpointMetadata> metadata = CheckpointMetadataOf(tmp.Join("ckpt"));
  EXPECT_EQ(metadata.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(metadata.status().message(), HasSubstr("_CHECKPOINT_METADATA"));
  EXPECT_TRUE(Load(tmp.Join("ckpt")).ok());  // the pytree needs no checkpoint metadata
}

TEST(CheckpointMetadata, WrongFieldTypeIsDataLoss) {
  TempDir tmp;
  ASSERT_TRUE(Save(tmp.Join("ckpt"), SampleTree()).ok());
  ASSERT_TRUE(WriteStringToFile(*Filesystem::Default(), tmp.Join("ckpt/_CHECKPOINT_METADATA"),
                                R"({"item_handlers": 7})", false)
                  .ok());
  EXPECT_EQ(CheckpointMetadataOf(tmp.Join("ckpt")).status().code(), absl::StatusCode::kDataLoss);
}

TEST(CheckpointablesMetadata, DescribesEachWithoutLoading) {
  TempDir tmp;
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("ckpt"), MixedItems()).ok());
  auto infos = CheckpointablesMetadata(tmp.Join("ckpt"));
  ASSERT_TRUE(infos.ok()) << infos.status();
  EXPECT_EQ(infos->at("config").handler, "cairn.JsonHandler");
  ASSERT_TRUE(infos->at("state").pytree.has_value());
  EXPECT_EQ(infos->at("state").pytree->tree.Find("step")->type_only(), LeafType::kInt);
}

// An object that writes its state without syncing it, as user code easily does.
class CarelessIterator : public FakeIterator {
 public:
  using FakeIterator::FakeIterator;
  absl::Status SaveState(Filesystem& fs, const std::string& dir) const override {
    CAIRN_RETURN_IF_ERROR(CreateDirs(fs, JoinPath(dir, "shard")));
    CAIRN_RETURN_IF_ERROR(WriteStringToFile(fs, JoinPath(dir, "shard/offset"), "17", false));
    return WriteStringToFile(fs, JoinPath(dir, "position"), std::to_string(position), false);
  }
  absl::Status RestoreState(Filesystem& fs, const std::string& dir) override {
    CAIRN_ASSIGN_OR_RETURN(const std::string text,
                           ReadFileToString(fs, JoinPath(dir, "position"), 64));
    if (!absl::SimpleAtoi(text, &position)) {
      return absl::DataLossError(absl::StrCat("position '", text, "' is not a number"));
    }
    return absl::OkStatus();
  }
};

TEST(StatefulObjects, StateWrittenWithoutSyncSurvivesAPowerLoss) {
  MemoryFilesystem memory;
  CheckpointOptions options;
  options.filesystem = &memory;
  Checkpointables items;
  items.emplace("dataset", std::shared_ptr<StatefulObject>(std::make_shared<CarelessIterator>(42)));
  ASSERT_TRUE(SaveCheckpointables("/ckpt", items, options).ok());
  memory.SimulatePowerLoss();
  auto restored = std::make_shared<CarelessIterator>();
  std::map<std::string, LoadRequest> request;
  request.emplace("dataset", Checkpointable(std::shared_ptr<StatefulObject>(restored)));
  absl::StatusOr<Checkpointables> loaded = LoadCheckpointables("/ckpt", request, options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(restored->position, 42);
  EXPECT_EQ(*ReadFileToString(memory, "/ckpt/dataset/shard/offset", 64), "17");
}

TEST(CheckpointNames, BadNamesAreRefusedAndNothingIsWritten) {
  TempDir tmp;
  for (const char* name : {"", ".", "..", "a/b", "_CHECKPOINT_METADATA", "LOCKED"}) {
    Checkpointables items;
    items.emplace(name, nlohmann::json(1));
    EXPECT_EQ(SaveCheckpointables(tmp.Join("ckpt"), items).code(),
              absl::StatusCode::kInvalidArgument)
        << name;
    EXPECT_FALSE(std::filesystem::exists(tmp.Join("ckpt"))) << name;
  }
}

}  // namespace
}  // namespace cairn
