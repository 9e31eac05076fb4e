#include "cairn/steps/name_format.h"

#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace cairn {
namespace {

// The value of a string of decimal digits, or nullopt if it is empty, has another character
// or overflows int64.
std::optional<int64_t> ParseDigits(absl::string_view digits) {
  if (digits.empty()) return std::nullopt;
  int64_t value = 0;
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    const int d = c - '0';
    if (value > (std::numeric_limits<int64_t>::max() - d) / 10) return std::nullopt;
    value = value * 10 + d;
  }
  return value;
}

// "<prefix>_<digits>" or "<digits>", padded to `min_digits`; 0 means no padding.
class DecimalFormat final : public NameFormat {
 public:
  DecimalFormat(std::string prefix, int min_digits)
      : prefix_(prefix.empty() ? "" : prefix + "_"), min_digits_(min_digits) {}

  std::string Build(int64_t step) const override {
    std::string digits = absl::StrCat(step);
    if (static_cast<int>(digits.size()) < min_digits_) {
      digits.insert(0, static_cast<size_t>(min_digits_) - digits.size(), '0');
    }
    return absl::StrCat(prefix_, digits);
  }

  std::optional<int64_t> Parse(absl::string_view name) const override {
    if (!absl::ConsumePrefix(&name, prefix_)) return std::nullopt;
    const bool has_leading_zero = name.size() > 1 && name[0] == '0';
    if (min_digits_ == 0) {
      if (has_leading_zero) return std::nullopt;
    } else if (static_cast<int>(name.size()) < min_digits_ ||
               (static_cast<int>(name.size()) > min_digits_ && has_leading_zero)) {
      return std::nullopt;
    }
    return ParseDigits(name);
  }

 private:
  const std::string prefix_;
  const int min_digits_;
};

class AnyOfFormat final : public NameFormat {
 public:
  AnyOfFormat(std::shared_ptr<const NameFormat> write,
              std::vector<std::shared_ptr<const NameFormat>> also_read)
      : write_(std::move(write)), also_read_(std::move(also_read)) {}

  std::string Build(int64_t step) const override { return write_->Build(step); }

  std::optional<int64_t> Parse(absl::string_view name) const override {
    if (std::optional<int64_t> step = write_->Parse(name)) return step;
    for (const auto& format : also_read_) {
      if (std::optional<int64_t> step = format->Parse(name)) return step;
    }
    return std::nullopt;
  }

 private:
  const std::shared_ptr<const NameFormat> write_;
  const std::vector<std::shared_ptr<const NameFormat>> also_read_;
};

}  // namespace

std::shared_ptr<const NameFormat> NameFormat::Plain() {
  return std::make_shared<DecimalFormat>("", 0);
}

std::shared_ptr<const NameFormat> NameFormat::Prefixed(std::string prefix) {
  return std::make_shared<DecimalFormat>(std::move(prefix), 0);
}

std::shared_ptr<const NameFormat> NameFormat::FixedLength(int digits, std::string prefix) {
  return std::make_shared<DecimalFormat>(std::move(prefix), digits < 1 ? 1 : digits);
}

std::shared_ptr<const NameFormat> NameFormat::AnyOf(
    std::shared_ptr<const NameFormat> write,
    std::vector<std::shared_ptr<const NameFormat>> also_read) {
  return std::make_shared<AnyOfFormat>(std::move(write), std::move(also_read));
}

}  // namespace cairn
