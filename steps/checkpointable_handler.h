// Handlers save and load one kind of checkpointable in its own subdirectory of a checkpoint.
// A registry maps the handler names recorded in _CHECKPOINT_METADATA back to handlers; users
// register their own beside the built-in ones.
#ifndef CAIRN_STEPS_CHECKPOINTABLE_HANDLER_H_
#define CAIRN_STEPS_CHECKPOINTABLE_HANDLER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cairn/steps/checkpointable.h"
#include "cairn/storage/pytree_store.h"

namespace cairn {

// What a handler may use: the filesystem and the store's options.
struct HandlerContext {
  Filesystem* filesystem;
  StoreSaveOptions store_save;
  StoreLoadOptions store_load;
};

class CheckpointableHandler {
 public:
  virtual ~CheckpointableHandler() = default;

  // The handler's name, as recorded for what it writes ("cairn.PyTreeHandler").
  virtual std::string name() const = 0;
  // The name recorded for `value`; by default name().
  virtual std::string RecordedName(const Checkpointable& value) const { return name(); }
  // Whether this handler reads what was recorded as `recorded`; by default equality with name().
  virtual bool Reads(absl::string_view recorded) const { return recorded == name(); }

  // Whether this handler saves `value` (and serves requests of its kind).
  virtual bool Handles(const Checkpointable& value) const = 0;
  // Saves `value` into `dir`, which exists and is empty. Files must be synced when
  // context.store_save.sync is set.
  virtual absl::Status Save(const std::string& dir, const Checkpointable& value,
                            const HandlerContext& context) const = 0;
  virtual absl::StatusOr<Checkpointable> Load(const std::string& dir, const LoadRequest& request,
                                              const HandlerContext& context) const = 0;
};

class HandlerRegistry {
 public:
  // A registry holding the built-in handlers: pytree, JSON, raw bytes and stateful objects.
  HandlerRegistry();

  // The process-wide registry used when options name none.
  static HandlerRegistry& Global();

  // Adds `handler`; AlreadyExists if one with its name is registered. Later registrations
  // are asked first, so a user's handler can take over values a built-in one would save.
  absl::Status Register(std::shared_ptr<const CheckpointableHandler> handler);

  // The handler that saves `value`; NotFound if none handles it.
  absl::StatusOr<std::shared_ptr<const CheckpointableHandler>> ForValue(
      const Checkpointable& value) const;
  // The handler that reads what was recorded as `recorded`; NotFound if none does.
  absl::StatusOr<std::shared_ptr<const CheckpointableHandler>> ForRecorded(
      absl::string_view recorded) const;

 private:
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<const CheckpointableHandler>> handlers_ ABSL_GUARDED_BY(mu_);
};

// Names of the built-in handlers.
inline constexpr char kPyTreeHandlerName[] = "cairn.PyTreeHandler";
inline constexpr char kJsonHandlerName[] = "cairn.JsonHandler";
inline constexpr char kBytesHandlerName[] = "cairn.BytesHandler";
inline constexpr char kObjectHandlerPrefix[] = "cairn.StatefulObjectHandler/";

// Orbax v1's names for its handlers of pytrees and JSON documents, which an Orbax-format
// checkpoint records so that Orbax picks them to load what cairn's handlers wrote.
inline constexpr char kOrbaxPyTreeHandlerName[] =
    "orbax.checkpoint.experimental.v1._src.handlers.pytree_handler.PyTreeHandler";
inline constexpr char kOrbaxJsonHandlerName[] =
    "orbax.checkpoint.experimental.v1._src.handlers.json_handler.JsonHandler";

// The handler name a checkpoint records for what the handler named `name` wrote: Orbax's own
// name in an Orbax-format checkpoint where Orbax has a handler that reads it, else `name`.
std::string RecordedHandlerName(absl::string_view name, StoreFormat format);

// Whether `recorded` names a handler that writes pytrees: cairn's, or one of Orbax's
// (PyTreeCheckpointHandler, StandardCheckpointHandler, and v1's PyTreeHandler).
bool IsPyTreeHandlerName(absl::string_view recorded);
// Whether `recorded` names Orbax's handler of a JSON document (JsonCheckpointHandler in v0,
// JsonHandler in v1), which cairn's JSON handler reads.
bool IsOrbaxJsonHandlerName(absl::string_view recorded);
// Whether `recorded` names Orbax v1's descriptor handler, whose entry may have no directory.
bool IsOrbaxDescriptorHandlerName(absl::string_view recorded);

}  // namespace cairn

#endif  // CAIRN_STEPS_CHECKPOINTABLE_HANDLER_H_
