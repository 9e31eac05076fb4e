// The process the crash-consistency test kills: a training loop that resumes from the latest
// committed step of its root and saves every step asynchronously (a pytree that is a fixed
// function of the step, and a JSON document naming the step), keeping the latest three. Before
// starting each save it writes the step number (8 bytes) to the given file descriptor, so that
// its killer knows which steps it had started.
//
// Usage: training_child <root> <progress fd>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "cairn/manager/checkpointer.h"
#include "tests/support/training_state.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <root> <progress fd>\n", argv[0]);
    return 2;
  }
  const int progress = std::atoi(argv[2]);
  cairn::CheckpointerOptions options;
  options.max_to_keep = 3;
  absl::StatusOr<std::unique_ptr<cairn::Checkpointer>> ckpt =
      cairn::Checkpointer::Create(argv[1], options);
  if (!ckpt.ok()) {
    std::fprintf(stderr, "training_child: %s\n", ckpt.status().ToString().c_str());
    return 3;
  }
  const std::optional<int64_t> latest = (*ckpt)->LatestStep();
  for (int64_t step = latest ? *latest + 1 : 0;; ++step) {
    if (::write(progress, &step, sizeof(step)) != sizeof(step)) return 4;
    cairn::Checkpointables items;
    items.emplace("state", cairn::testing::StateAt(step));
    items.emplace("meta", nlohmann::json{{"step", step}});
    absl::StatusOr<cairn::SaveFuture> saving = (*ckpt)->SaveAsync(step, items);
    if (!saving.ok()) {
      std::fprintf(stderr, "training_child: step %lld: %s\n", static_cast<long long>(step),
                   saving.status().ToString().c_str());
      return 5;
    }
  }
}
