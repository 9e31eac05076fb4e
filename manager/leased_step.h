// LeasedStep: a committed step handed to a follower, leased (LOCKED) so that retention leaves it
// alone while the follower reads it. The lease is released when the LeasedStep is destroyed.
#ifndef CAIRN_MANAGER_LEASED_STEP_H_
#define CAIRN_MANAGER_LEASED_STEP_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "cairn/steps/lease.h"

namespace cairn {

class LeasedStep {
 public:
  // No step: what a wait returns when its timeout passes (Orbax's -1).
  LeasedStep() = default;
  LeasedStep(int64_t step, std::string path, StepLease lease)
      : step_(step), path_(std::move(path)), lease_(std::move(lease)) {}
  LeasedStep(LeasedStep&&) = default;
  LeasedStep& operator=(LeasedStep&&) = default;

  // Whether this holds a step.
  bool found() const { return step_ >= 0; }
  // The step number, or -1 when none was found.
  int64_t step() const { return step_; }
  // The step's directory, to load from.
  const std::string& path() const { return path_; }
  // Releases the lease before destruction. Idempotent; the step stays readable until
  // retention deletes it.
  absl::Status Release() { return lease_.Release(); }
  bool leased() const { return lease_.held(); }

 private:
  int64_t step_ = -1;
  std::string path_;
  StepLease lease_;
};

}  // namespace cairn

#endif  // CAIRN_MANAGER_LEASED_STEP_H_
