// A one-line progress bar with bytes and throughput, drawn on stderr only when it is a terminal:
// piped output stays clean for scripts.
#ifndef CAIRN_CLI_PROGRESS_BAR_H_
#define CAIRN_CLI_PROGRESS_BAR_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace cairn::cli {

class ProgressBar {
 public:
  // `label` leads the line ("step 30"). Draws nothing unless stderr is a terminal.
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  // Redraws at most every 100 ms, and always at the end (done == total).
  void Update(uint64_t done, uint64_t total);
  // Clears the line, so that what follows starts on a clean one.
  void Finish();

 private:
  void Draw(uint64_t done, uint64_t total);

  const bool enabled_;
  std::string label_;
  absl::Time start_;
  absl::Time last_draw_ = absl::InfinitePast();
  bool drawn_ = false;
};

}  // namespace cairn::cli

#endif  // CAIRN_CLI_PROGRESS_BAR_H_
