// A training state that is a fixed function of its step, and a data iterator whose position
// is checkpointed, for tests of the Checkpointer: what a step saved can be checked bit for bit
// from the step number alone.
#ifndef CAIRN_TESTS_SUPPORT_TRAINING_STATE_H_
#define CAIRN_TESTS_SUPPORT_TRAINING_STATE_H_

#include <cstdint>
#include <string>

#include "cairn/steps/checkpointable.h"
#include "cairn/storage/tree.h"
#include "gtest/gtest.h"

namespace cairn::testing {

// params (two float32 matrices and a bias), an optimizer state mirroring them, and the step.
Tree StateAt(int64_t step);

// Whether `tree` is StateAt(step), byte for byte.
::testing::AssertionResult IsStateAt(const Tree& tree, int64_t step);

// A data iterator: its position is its whole state, saved as one small file.
class DataIterator final : public StatefulObject {
 public:
  explicit DataIterator(int64_t position = 0) : position_(position) {}
  std::string type_name() const override { return "test.data_iterator.v1"; }
  absl::Status SaveState(Filesystem& fs, const std::string& dir) const override;
  absl::Status RestoreState(Filesystem& fs, const std::string& dir) override;

  int64_t position() const { return position_; }
  void set_position(int64_t position) { position_ = position; }

 private:
  int64_t position_;
};

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_SUPPORT_TRAINING_STATE_H_
