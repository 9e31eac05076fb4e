// A fixed-size pool of worker threads, and ParallelFor, which spreads a loop over a pool.
//
// The save and load paths split their work into chunks and hand them to a pool so that
// checksums, compression and I/O of different chunks overlap on every core.
#ifndef CAIRN_UTILS_THREAD_POOL_H_
#define CAIRN_UTILS_THREAD_POOL_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace cairn {

class ThreadPool {
 public:
  // Starts `num_threads` workers (at least one).
  explicit ThreadPool(int num_threads);
  // Runs every task already scheduled, then joins the workers.
  ~ThreadPool();

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task` to run on some worker.
  void Schedule(absl::AnyInvocable<void() &&> task);

  int num_threads() const { return static_cast<int>(workers_.size()); }

  // A process-wide pool with one worker per hardware thread, for I/O and encoding work.
  static ThreadPool* Shared();

 private:
  void WorkerLoop();

  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

// Calls `fn(i)` for every i in [0, n) using up to `parallelism` threads of `pool` plus the
// calling thread, and returns the first error (by index order of discovery, not of i). After an
// error, items not yet started are skipped. The caller takes part in the work, so ParallelFor
// makes progress even when every worker of `pool` is busy, including when it is itself called
// from a pool task. With `pool == nullptr` or `parallelism <= 1` it runs inline.
absl::Status ParallelFor(ThreadPool* pool, size_t n, int parallelism,
                         const std::function<absl::Status(size_t)>& fn);

}  // namespace cairn

#endif  // CAIRN_UTILS_THREAD_POOL_H_
