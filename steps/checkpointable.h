// What a checkpoint holds under each name: a tree (the pytree store), a JSON document, raw
// bytes, or a user object that saves and restores its own state (a data iterator's position).
#ifndef CAIRN_STEPS_CHECKPOINTABLE_H_
#define CAIRN_STEPS_CHECKPOINTABLE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "cairn/storage/tree.h"
#include "cairn/utils/filesystem.h"
#include "nlohmann/json.hpp"

namespace cairn {

struct RawBytes {
  std::string data;
};

// A user object whose state is checkpointed and restored in place, as Orbax does with Grain
// iterators. `type_name` is recorded; restoring into an object of another type is an error.
class StatefulObject {
 public:
  virtual ~StatefulObject() = default;
  // A stable name for the object's type and state format ("my_loader.v1").
  virtual std::string type_name() const = 0;
  // Writes the state into the empty directory `dir` (which this object owns) through `fs`.
  // When the save is durable, every file and directory written through `fs` is synced for the
  // object: it need not sync them itself.
  virtual absl::Status SaveState(Filesystem& fs, const std::string& dir) const = 0;
  // Replaces this object's state with the one in `dir`.
  virtual absl::Status RestoreState(Filesystem& fs, const std::string& dir) = 0;
};

// What a load of every checkpointable (no requests) returns for a stateful object: restoring one
// needs the live object to restore into, which such a load does not have, so the entry says so
// instead of failing the whole load. type_name() is the recorded type; SaveState and RestoreState
// fail with FailedPrecondition. To restore it, request its name with the object.
class UnrestoredObject final : public StatefulObject {
 public:
  UnrestoredObject(std::string type_name, std::string dir)
      : type_name_(std::move(type_name)), dir_(std::move(dir)) {}
  std::string type_name() const override { return type_name_; }
  // The directory that holds its state.
  const std::string& dir() const { return dir_; }
  absl::Status SaveState(Filesystem& fs, const std::string& dir) const override;
  absl::Status RestoreState(Filesystem& fs, const std::string& dir) override;

 private:
  std::string type_name_;
  std::string dir_;
};

using Checkpointable =
    std::variant<Tree, nlohmann::json, RawBytes, std::shared_ptr<StatefulObject>>;
using Checkpointables = std::map<std::string, Checkpointable>;

// What to load under one name: nullopt loads as saved; a Tree is an abstract tree; a
// StatefulObject is the object to restore into; a json or RawBytes value just asks for that kind.
using LoadRequest = std::optional<Checkpointable>;

}  // namespace cairn

#endif  // CAIRN_STEPS_CHECKPOINTABLE_H_
