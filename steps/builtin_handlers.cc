// The built-in handlers (pytree, JSON, raw bytes, stateful objects) and the registry.
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cairn/steps/checkpointable_handler.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/json_parse.h"
#include "cairn/utils/status_macros.h"
#include "cairn/utils/syncing_filesystem.h"

namespace cairn {
namespace {

// JSON and bytes checkpointables larger than this are not read back whole.
constexpr uint64_t kMaxDocumentBytes = uint64_t{1} << 30;
constexpr char kJsonFileName[] = "data.json";
// Orbax v0's JsonCheckpointHandler names its file after the default item, "metadata".
constexpr char kOrbaxV0JsonFileName[] = "metadata";

// Whether `recorded` is the name of one of Orbax's handler classes called `class_name`:
// "orbax.checkpoint.<modules>.<class_name>".
bool IsOrbaxHandler(absl::string_view recorded, absl::string_view class_name) {
  return absl::StartsWith(recorded, "orbax.checkpoint.") &&
         absl::EndsWith(recorded, absl::StrCat(".", class_name));
}
constexpr char kBytesFileName[] = "data.bin";

class PyTreeHandler final : public CheckpointableHandler {
 public:
  std::string name() const override { return kPyTreeHandlerName; }
  bool Reads(absl::string_view recorded) const override { return IsPyTreeHandlerName(recorded); }
  bool Handles(const Checkpointable& value) const override {
    return std::holds_alternative<Tree>(value);
  }
  absl::Status Save(const std::string& dir, const Checkpointable& value,
                    const HandlerContext& context) const override {
    StoreSaveOptions options = context.store_save;
    options.filesystem = context.filesystem;
    return SaveTree(dir, std::get<Tree>(value), options);
  }
  absl::StatusOr<Checkpointable> Load(const std::string& dir, const LoadRequest& request,
                                      const HandlerContext& context) const override {
    StoreLoadOptions options = context.store_load;
    options.filesystem = context.filesystem;
    const Tree abstract = request ? std::get<Tree>(*request) : Tree::AsSaved();
    CAIRN_ASSIGN_OR_RETURN(Tree tree, LoadTree(dir, abstract, options));
    return Checkpointable(std::move(tree));
  }
};

class JsonHandler final : public CheckpointableHandler {
 public:
  std::string name() const override { return kJsonHandlerName; }
  bool Reads(absl::string_view recorded) const override {
    return recorded == kJsonHandlerName || IsOrbaxJsonHandlerName(recorded);
  }
  bool Handles(const Checkpointable& value) const override {
    return std::holds_alternative<nlohmann::json>(value);
  }
  absl::Status Save(const std::string& dir, const Checkpointable& value,
                    const HandlerContext& context) const override {
    CAIRN_RETURN_IF_ERROR(CheckJsonForSave(std::get<nlohmann::json>(value), "the JSON document"));
    const std::string text = std::get<nlohmann::json>(value).dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
    return WriteStringToFile(*context.filesystem, JoinPath(dir, kJsonFileName), text,
                             context.store_save.sync);
  }
  absl::StatusOr<Checkpointable> Load(const std::string& dir, const LoadRequest&,
                                      const HandlerContext& context) const override {
    std::string path = JoinPath(dir, kJsonFileName);
    CAIRN_ASSIGN_OR_RETURN(const bool v1_name, PathExists(*context.filesystem, path));
    if (!v1_name) {
      const std::string v0 = JoinPath(dir, kOrbaxV0JsonFileName);
      CAIRN_ASSIGN_OR_RETURN(const bool v0_name, PathExists(*context.filesystem, v0));
      if (v0_name) path = v0;
    }
    CAIRN_ASSIGN_OR_RETURN(const std::string text,
                           ReadFileToString(*context.filesystem, path, kMaxDocumentBytes));
    CAIRN_ASSIGN_OR_RETURN(nlohmann::json json, ParseJsonFromDisk(text, path));
    return Checkpointable(std::move(json));
  }
};

class BytesHandler final : public CheckpointableHandler {
 public:
  std::string name() const override { return kBytesHandlerName; }
  bool Handles(const Checkpointable& value) const override {
    return std::holds_alternative<RawBytes>(value);
  }
  absl::Status Save(const std::string& dir, const Checkpointable& value,
                    const HandlerContext& context) const override {
    return WriteStringToFile(*context.filesystem, JoinPath(dir, kBytesFileName),
                             std::get<RawBytes>(value).data, context.store_save.sync);
  }
  absl::StatusOr<Checkpointable> Load(const std::string& dir, const LoadRequest&,
                                      const HandlerContext& context) const override {
    CAIRN_ASSIGN_OR_RETURN(
        std::string data,
        ReadFileToString(*context.filesystem, JoinPath(dir, kBytesFileName), kMaxDocumentBytes));
    return Checkpointable(RawBytes{std::move(data)});
  }
};

// Saves any StatefulObject; records its type so that only an object of that type restores it.
class StatefulObjectHandler final : public CheckpointableHandler {
 public:
  std::string name() const override { return kObjectHandlerPrefix; }
  std::string RecordedName(const Checkpointable& value) const override {
    return absl::StrCat(kObjectHandlerPrefix,
                        std::get<std::shared_ptr<StatefulObject>>(value)->type_name());
  }
  bool Reads(absl::string_view recorded) const override {
    return absl::StartsWith(recorded, kObjectHandlerPrefix);
  }
  bool Handles(const Checkpointable& value) const override {
    const auto* object = std::get_if<std::shared_ptr<StatefulObject>>(&value);
    return object != nullptr && *object != nullptr;
  }
  absl::Status Save(const std::string& dir, const Checkpointable& value,
                    const HandlerContext& context) const override {
    const StatefulObject& object = *std::get<std::shared_ptr<StatefulObject>>(value);
    if (!context.store_save.sync) return object.SaveState(*context.filesystem, dir);
    // User code may not sync what it writes: every file and directory it makes is synced for it.
    SyncingFilesystem durable(context.filesystem);
    CAIRN_RETURN_IF_ERROR(object.SaveState(durable, dir));
    return durable.SyncCreatedDirs();
  }
  absl::StatusOr<Checkpointable> Load(const std::string& dir, const LoadRequest& request,
                                      const HandlerContext& context) const override {
    const auto* object =
        request ? std::get_if<std::shared_ptr<StatefulObject>>(&*request) : nullptr;
    if (object == nullptr || *object == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("the checkpointable in ", dir,
                       " is a stateful object: pass the object to restore into as the request"));
    }
    CAIRN_RETURN_IF_ERROR((*object)->RestoreState(*context.filesystem, dir));
    return Checkpointable(*object);
  }
};

}  // namespace

bool IsPyTreeHandlerName(absl::string_view recorded) {
  return recorded == kPyTreeHandlerName || IsOrbaxHandler(recorded, "PyTreeCheckpointHandler") ||
         IsOrbaxHandler(recorded, "StandardCheckpointHandler") ||
         IsOrbaxHandler(recorded, "PyTreeHandler");
}

bool IsOrbaxJsonHandlerName(absl::string_view recorded) {
  return IsOrbaxHandler(recorded, "JsonCheckpointHandler") ||
         IsOrbaxHandler(recorded, "JsonHandler");
}

std::string RecordedHandlerName(absl::string_view name, StoreFormat format) {
  if (format == StoreFormat::kOrbax) {
    if (name == kPyTreeHandlerName) return kOrbaxPyTreeHandlerName;
    if (name == kJsonHandlerName) return kOrbaxJsonHandlerName;
  }
  return std::string(name);
}

bool IsOrbaxDescriptorHandlerName(absl::string_view recorded) {
  return IsOrbaxHandler(recorded, "DescriptorHandler");
}

HandlerRegistry::HandlerRegistry() {
  handlers_ = {std::make_shared<PyTreeHandler>(), std::make_shared<JsonHandler>(),
               std::make_shared<BytesHandler>(), std::make_shared<StatefulObjectHandler>()};
}

HandlerRegistry& HandlerRegistry::Global() {
  static HandlerRegistry* const registry = new HandlerRegistry();
  return *registry;
}

absl::Status HandlerRegistry::Register(std::shared_ptr<const CheckpointableHandler> handler) {
  absl::MutexLock lock(&mu_);
  for (const auto& existing : handlers_) {
    if (existing->name() == handler->name()) {
      return absl::AlreadyExistsError(
          absl::StrCat("a handler named ", handler->name(), " is already registered"));
    }
  }
  handlers_.push_back(std::move(handler));
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const CheckpointableHandler>> HandlerRegistry::ForValue(
    const Checkpointable& value) const {
  absl::MutexLock lock(&mu_);
  for (auto it = handlers_.rbegin(); it != handlers_.rend(); ++it) {
    if ((*it)->Handles(value)) return *it;
  }
  return absl::NotFoundError("no registered handler saves this kind of value");
}

absl::StatusOr<std::shared_ptr<const CheckpointableHandler>> HandlerRegistry::ForRecorded(
    absl::string_view recorded) const {
  absl::MutexLock lock(&mu_);
  for (auto it = handlers_.rbegin(); it != handlers_.rend(); ++it) {
    if ((*it)->Reads(recorded)) return *it;
  }
  return absl::NotFoundError(
      absl::StrCat("no registered handler reads '", recorded, "'; register it before loading"));
}

}  // namespace cairn
