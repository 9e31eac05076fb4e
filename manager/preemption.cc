#include "cairn/manager/preemption.h"

#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace cairn {
namespace {

// Lock-free, so the handler may touch them.
std::atomic<bool> g_signalled{false};
struct sigaction g_previous;
std::atomic<bool> g_has_previous{false};

void OnSigterm(int signal) {
  g_signalled.store(true, std::memory_order_relaxed);
  if (g_has_previous.load(std::memory_order_relaxed) && g_previous.sa_handler != SIG_DFL &&
      g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(signal);
  }
}

}  // namespace

absl::Status InstallPreemptionHandler() {
  static absl::Mutex mu(absl::kConstInit);
  static bool installed = false;
  absl::MutexLock lock(&mu);
  if (installed) return absl::OkStatus();
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = OnSigterm;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  struct sigaction previous;
  if (::sigaction(SIGTERM, &action, &previous) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot install the SIGTERM handler: ", std::strerror(errno)));
  }
  // A previous handler that takes siginfo is not chained: its signature differs.
  if (!(previous.sa_flags & SA_SIGINFO)) {
    g_previous = previous;
    g_has_previous.store(true, std::memory_order_relaxed);
  }
  installed = true;
  return absl::OkStatus();
}

bool PreemptionSignalled() { return g_signalled.load(std::memory_order_relaxed); }

}  // namespace cairn
