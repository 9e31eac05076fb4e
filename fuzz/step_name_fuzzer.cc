// Fuzzes step name parsing: every built-in NameFormat parses the input, and whatever step a
// format returns must satisfy what steps/name_format.h promises about it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cairn/steps/name_format.h"
#include "fuzz/step_name_input.h"

namespace cairn::fuzz {
namespace {

struct Format {
  const char* what;
  std::shared_ptr<const NameFormat> format;
  // Plain and FixedLength parse only the names they build: Build(Parse(name)) == name.
  bool canonical;
};

void Fail(const Format& format, const std::string& name, const char* broken) {
  std::fprintf(stderr, "%s: '%s': %s\n", format.what, name.c_str(), broken);
  __builtin_trap();
}

// Checks the step `format` parses from `name`, if any.
std::optional<int64_t> CheckParse(const Format& format, const std::string& name) {
  const std::optional<int64_t> step = format.format->Parse(name);
  if (!step) return std::nullopt;
  if (*step < 0) Fail(format, name, "parsed a negative step");
  const std::string built = format.format->Build(*step);
  if (format.format->Parse(built) != step) Fail(format, name, "Build(step) does not parse back");
  if (format.canonical && built != name) Fail(format, name, "parsed a non-canonical name");
  return step;
}

void CheckNames(const StepNameInput& input) {
  const std::string prefix = input.prefix.empty() ? "step" : input.prefix;
  const std::vector<Format> members = {
      {"Plain", NameFormat::Plain(), true},
      {"Prefixed", NameFormat::Prefixed(prefix), false},
      {"FixedLength", NameFormat::FixedLength(input.digits), true},
      {"FixedLength with prefix", NameFormat::FixedLength(input.digits, prefix), true},
  };
  std::optional<int64_t> first;
  for (const Format& format : members) {
    const std::optional<int64_t> step = CheckParse(format, input.name);
    if (!first) first = step;
  }
  // AnyOf reads with its writer first, then the others in order; the first that parses wins.
  const Format any_of{"AnyOf",
                      NameFormat::AnyOf(members[0].format,
                                        {members[1].format, members[2].format, members[3].format}),
                      false};
  if (CheckParse(any_of, input.name) != first) Fail(any_of, input.name, "differs from its members");
}

}  // namespace
}  // namespace cairn::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cairn::fuzz::CheckNames(cairn::fuzz::DecodeStepNameInput(
      absl::string_view(reinterpret_cast<const char*>(data), size)));
  return 0;
}
