#include "progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "output.h"

namespace cairn::cli {

constexpr int kBarWidth = 30;

ProgressBar::ProgressBar(std::string label)
    : enabled_(::isatty(STDERR_FILENO) == 1), label_(std::move(label)), start_(absl::Now()) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  const absl::Time now = absl::Now();
  if (done < total && now - last_draw_ < absl::Milliseconds(100)) return;
  last_draw_ = now;
  Draw(done, total);
}

void ProgressBar::Draw(uint64_t done, uint64_t total) {
  const double fraction = total == 0 ? 1.0 : std::min(1.0, static_cast<double>(done) / total);
  const int filled = static_cast<int>(fraction * kBarWidth);
  const std::string bar = std::string(filled, '#') + std::string(kBarWidth - filled, '.');
  const std::string line = absl::StrFormat(
      "%s [%s] %3d%% %s / %s %s", label_, bar, static_cast<int>(fraction * 100), FormatBytes(done),
      FormatBytes(total), FormatThroughput(done, absl::Now() - start_));
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace cairn::cli
