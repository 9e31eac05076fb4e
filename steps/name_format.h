// NameFormat: how step numbers become directory names under a root ("123", "step_123",
// "000123", "step_000123", or a user's own scheme) and how names are parsed back.
#ifndef CAIRN_STEPS_NAME_FORMAT_H_
#define CAIRN_STEPS_NAME_FORMAT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace cairn {

class NameFormat {
 public:
  virtual ~NameFormat() = default;

  // The directory name of `step` (>= 0).
  virtual std::string Build(int64_t step) const = 0;
  // The step a directory name stands for, or nullopt when the name is not one of this format's
  // (temporary directories, unrelated files, other spellings).
  virtual std::optional<int64_t> Parse(absl::string_view name) const = 0;

  // "123". Parses only canonical numbers: no sign, no leading zeros (except "0" itself).
  static std::shared_ptr<const NameFormat> Plain();
  // "<prefix>_123".
  static std::shared_ptr<const NameFormat> Prefixed(std::string prefix);
  // Zero-padded to at least `digits` digits, with an optional prefix: "000123",
  // "step_000123". Parses names with exactly `digits` digits, or more without leading zeros.
  static std::shared_ptr<const NameFormat> FixedLength(int digits, std::string prefix = "");
  // Writes with `write`; reads any name that `write` or one of `also_read` parses (the first
  // that does wins), so a run can change its naming and still find its old steps.
  static std::shared_ptr<const NameFormat> AnyOf(
      std::shared_ptr<const NameFormat> write,
      std::vector<std::shared_ptr<const NameFormat>> also_read);
};

}  // namespace cairn

#endif  // CAIRN_STEPS_NAME_FORMAT_H_
