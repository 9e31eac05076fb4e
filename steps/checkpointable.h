// What a checkpoint holds under each name: a tree (the pytree store), a JSON document, raw
// bytes, or a user object that saves and restores its own state (a data iterator's position).
#ifndef CAIRN_STEPS_CHECKPOINTABLE_H_
#define CAIRN_STEPS_CHECKPOINTABLE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
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

using Checkpointable =
    std::variant<Tree, nlohmann::json, RawBytes, std::shared_ptr<StatefulObject>>;
using Checkpointables = std::map<std::string, Checkpointable>;

// What to load under one name: nullopt loads as saved; a Tree is an abstract tree; a
// StatefulObject is the object to restore into; a json or RawBytes value just asks for that kind.
using LoadRequest = std::optional<Checkpointable>;

}  // namespace cairn

#endif  // CAIRN_STEPS_CHECKPOINTABLE_H_
