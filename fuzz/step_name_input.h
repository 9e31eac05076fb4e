// The step name fuzzer's input: [u8 digits][u8 prefix length][prefix][name], so that one input
// chooses the formats' parameters as well as the name they parse. Shared with the seed generator.
#ifndef CAIRN_FUZZ_STEP_NAME_INPUT_H_
#define CAIRN_FUZZ_STEP_NAME_INPUT_H_

#include <algorithm>
#include <string>

#include "absl/strings/string_view.h"

namespace cairn::fuzz {

struct StepNameInput {
  int digits = 0;      // FixedLength's digits, 0 to 31
  std::string prefix;  // the prefix of Prefixed and prefixed FixedLength; "step" when empty
  std::string name;    // the directory name parsed
};

inline StepNameInput DecodeStepNameInput(absl::string_view bytes) {
  StepNameInput input;
  if (bytes.size() < 2) {
    input.name = std::string(bytes);
    return input;
  }
  input.digits = static_cast<unsigned char>(bytes[0]) % 32;
  const size_t prefix_size =
      std::min<size_t>(static_cast<unsigned char>(bytes[1]) % 16, bytes.size() - 2);
  input.prefix = std::string(bytes.substr(2, prefix_size));
  input.name = std::string(bytes.substr(2 + prefix_size));
  return input;
}

inline std::string EncodeStepNameInput(const StepNameInput& input) {
  std::string out;
  out.push_back(static_cast<char>(input.digits));
  out.push_back(static_cast<char>(input.prefix.size()));
  return out + input.prefix + input.name;
}

}  // namespace cairn::fuzz

#endif  // CAIRN_FUZZ_STEP_NAME_INPUT_H_
