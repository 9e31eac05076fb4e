#include "cairn/utils/coordinator.h"

namespace cairn {

Coordinator* SingleProcessCoordinator::Default() {
  static Coordinator* const coordinator = new SingleProcessCoordinator();
  return coordinator;
}

}  // namespace cairn
