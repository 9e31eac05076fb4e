#include "cairn/utils/coordinator.h"

namespace cairn {

absl::StatusOr<std::unique_ptr<Coordinator>> Coordinator::Duplicate() {
  return absl::UnimplementedError(
      "this coordinator cannot be duplicated, which a Checkpointer saving from several processes "
      "needs (its decisions and its background saves each run collectives)");
}

Coordinator* SingleProcessCoordinator::Default() {
  static Coordinator* const coordinator = new SingleProcessCoordinator();
  return coordinator;
}

}  // namespace cairn
