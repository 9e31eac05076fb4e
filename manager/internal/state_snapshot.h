// The copy an async save makes of the caller's state before SaveAsync returns: arrays into host
// staging memory, stateful objects (a data iterator's position) into an in-memory snapshot.
#ifndef CAIRN_MANAGER_INTERNAL_STATE_SNAPSHOT_H_
#define CAIRN_MANAGER_INTERNAL_STATE_SNAPSHOT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cairn/manager/checkpointer_options.h"
#include "cairn/steps/checkpointable.h"
#include "cairn/utils/thread_pool.h"

namespace cairn::internal {

// Memory from AllocateFreshMemory (utils/fresh_memory.h), as a load's arrays get it.
using StagingBuffer = std::shared_ptr<void>;

// Host memory for the copies, kept from one save to the next: a copy into pages already mapped
// runs several times faster than one that first-touches fresh memory.
class StagingPool {
 public:
  // A buffer of at least `size` bytes: a free one of exactly that size when there is one. Null
  // when there is no memory left.
  StagingBuffer Take(size_t size);
  // Gives buffers back for the next save.
  void Return(std::vector<std::pair<size_t, StagingBuffer>> buffers);
  // Frees every buffer not taken since the last Trim, so that the pool holds no more than what
  // the saves in flight use.
  void Trim();

 private:
  absl::Mutex mu_;
  std::multimap<size_t, StagingBuffer> free_ ABSL_GUARDED_BY(mu_);
};

// The state a background save writes, independent of the caller's.
class StateSnapshot {
 public:
  StateSnapshot() = default;
  StateSnapshot(StateSnapshot&& other) noexcept { *this = std::move(other); }
  StateSnapshot& operator=(StateSnapshot&& other) noexcept;
  ~StateSnapshot() { Release(); }

  // Drops the copy and gives its staging memory back to the pool, for the next save.
  void Release();

  const Checkpointables& items() const { return items_; }
  uint64_t bytes_copied() const { return bytes_copied_; }

  // Copies `items` as `mode` says; stateful objects are always snapshotted, since their state
  // lives in the object, not in buffers the caller could promise to keep.
  // What is not copied is moved from `items`.
  static absl::StatusOr<StateSnapshot> Take(Checkpointables items, AsyncCopy mode,
                                            StagingPool* pool, ThreadPool* threads);

 private:
  Checkpointables items_;
  StagingPool* pool_ = nullptr;
  std::vector<std::pair<size_t, StagingBuffer>> buffers_;
  uint64_t bytes_copied_ = 0;
};

}  // namespace cairn::internal

#endif  // CAIRN_MANAGER_INTERNAL_STATE_SNAPSHOT_H_
