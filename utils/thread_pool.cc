#include "cairn/utils/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <utility>

namespace cairn {

ThreadPool::ThreadPool(int num_threads) {
  const int n = std::max(1, num_threads);
  workers_.reserve(n);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::Schedule(absl::AnyInvocable<void() &&> task) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(task));
}

void ThreadPool::WorkerLoop() {
  while (true) {
    absl::AnyInvocable<void() &&> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](ThreadPool* pool) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pool->mu_) {
            return pool->stopping_ || !pool->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping, and everything queued has run
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    std::move(task)();
  }
}

ThreadPool* ThreadPool::Shared() {
  static ThreadPool* const pool =
      new ThreadPool(static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  return pool;
}

namespace {

// The loop state shared by the caller and the helpers it recruited. A helper that starts after
// the caller has finished the loop (`closed`) must not touch `fn`, which lives in the caller's
// frame; the shared_ptr keeps the state itself alive for such late helpers.
struct LoopState {
  explicit LoopState(size_t n, const std::function<absl::Status(size_t)>& fn) : n(n), fn(fn) {}

  // Claims and runs items until none are left or one failed.
  void Drain() {
    while (!failed.load(std::memory_order_relaxed)) {
      const size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= n) break;
      absl::Status status = fn(i);
      if (!status.ok()) {
        absl::MutexLock lock(&mu);
        if (first_error.ok()) first_error = std::move(status);
        failed.store(true, std::memory_order_relaxed);
      }
    }
  }

  const size_t n;
  const std::function<absl::Status(size_t)>& fn;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  absl::Mutex mu;
  absl::Status first_error ABSL_GUARDED_BY(mu);
  bool closed ABSL_GUARDED_BY(mu) = false;
  int running ABSL_GUARDED_BY(mu) = 0;
};

}  // namespace

absl::Status ParallelFor(ThreadPool* pool, size_t n, int parallelism,
                         const std::function<absl::Status(size_t)>& fn) {
  if (n == 0) return absl::OkStatus();
  auto state = std::make_shared<LoopState>(n, fn);
  const size_t helpers =
      pool == nullptr ? 0 : std::min<size_t>(n - 1, std::max(0, parallelism - 1));
  for (size_t h = 0; h < helpers; ++h) {
    pool->Schedule([state] {
      {
        absl::MutexLock lock(&state->mu);
        if (state->closed) return;
        ++state->running;
      }
      state->Drain();
      absl::MutexLock lock(&state->mu);
      --state->running;
    });
  }
  state->Drain();
  // Helpers still queued (the pool may be busy, even with tasks that wait on this very loop)
  // are released by `closed`; only those already running are waited for.
  absl::MutexLock lock(&state->mu);
  state->closed = true;
  state->mu.Await(absl::Condition(
      +[](LoopState* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) { return s->running == 0; },
      state.get()));
  return state->first_error;
}

}  // namespace cairn
