// The Coordinator seam: which process this is among those saving one checkpoint together, and
// the collective steps a multi-process save needs (barrier, broadcast).
//
// Single-process runs use SingleProcessCoordinator. A multi-process implementation (over MPI)
// plugs in here without changes to the format or the call graph: every process writes its own
// data files and shard records, and the primary (index 0) writes the index after a barrier.
#ifndef CAIRN_UTILS_COORDINATOR_H_
#define CAIRN_UTILS_COORDINATOR_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

class Coordinator {
 public:
  virtual ~Coordinator() = default;

  virtual int process_index() const = 0;
  virtual int process_count() const = 0;
  bool is_primary() const { return process_index() == 0; }

  // Returns once every process has called Barrier with the same `name`.
  virtual absl::Status Barrier(absl::string_view name) = 0;
  // Every process receives the primary's `value`.
  virtual absl::StatusOr<std::string> Broadcast(absl::string_view name,
                                                absl::string_view value) = 0;
  // The primary receives every process's `value`, ordered by process index; the others
  // receive an empty vector.
  virtual absl::StatusOr<std::vector<std::string>> Gather(absl::string_view name,
                                                          absl::string_view value) = 0;

  // A coordinator over the same processes whose collectives never meet this one's, so that two
  // threads of each process can run collectives at once (a Checkpointer decides on the caller's
  // thread while its saves run on another). Collective: every process calls it, in the same
  // order. Unimplemented unless the implementation supports it.
  virtual absl::StatusOr<std::unique_ptr<Coordinator>> Duplicate();
};

// One process alone: barriers return at once, broadcast and gather return the caller's value.
class SingleProcessCoordinator final : public Coordinator {
 public:
  int process_index() const override { return 0; }
  int process_count() const override { return 1; }
  absl::Status Barrier(absl::string_view) override { return absl::OkStatus(); }
  absl::StatusOr<std::string> Broadcast(absl::string_view, absl::string_view value) override {
    return std::string(value);
  }
  absl::StatusOr<std::vector<std::string>> Gather(absl::string_view,
                                                  absl::string_view value) override {
    return std::vector<std::string>{std::string(value)};
  }
  absl::StatusOr<std::unique_ptr<Coordinator>> Duplicate() override {
    return std::make_unique<SingleProcessCoordinator>();
  }

  // A process-wide instance, never destroyed.
  static Coordinator* Default();
};

}  // namespace cairn

#endif  // CAIRN_UTILS_COORDINATOR_H_
