// ThreadSanitizer builds only: tells the sanitizer about the ordering that Abseil's mutexes,
// condition variables, notifications and barriers provide. Debian's Abseil is not built with
// the sanitizer, so without this every access to data guarded by an absl::Mutex looks like a
// race. The build links with `--wrap` for each function below (CMakeLists.txt), so calls from
// cairn's code reach these wrappers, which call the real function and record the acquire or
// release that it performs. Calls made inside Abseil itself are not wrapped and need not be.
#if defined(__SANITIZE_THREAD__)

#include <sanitizer/tsan_interface.h>

#include <atomic>

#include "absl/synchronization/barrier.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

using absl::Condition;
using absl::CondVar;
using absl::Duration;
using absl::Mutex;
using absl::Notification;
using absl::Time;

namespace {

// The address a notification's readers and writer synchronise on: its flag, which follows its
// mutex (absl/synchronization/notification.h), so that HasBeenNotified, which sees only the
// flag, can use it too.
void* FlagOf(const Notification* n) {
  static_assert(sizeof(Notification) == sizeof(Mutex) + sizeof(void*), "unexpected layout");
  return const_cast<char*>(reinterpret_cast<const char*>(n) + sizeof(Mutex));
}

}  // namespace

// Each wrapper's mangled name is `__wrap_` followed by the real function's.
#define CAIRN_WRAP(ret, mangled, ...)           \
  extern "C" ret __real_##mangled(__VA_ARGS__); \
  extern "C" ret __wrap_##mangled(__VA_ARGS__)

// Locking acquires; unlocking releases; waiting releases and then acquires again.
CAIRN_WRAP(void, _ZN4absl7debian35Mutex4LockEv, Mutex* mu) {
  __real__ZN4absl7debian35Mutex4LockEv(mu);
  __tsan_acquire(mu);
}
CAIRN_WRAP(void, _ZN4absl7debian35Mutex10ReaderLockEv, Mutex* mu) {
  __real__ZN4absl7debian35Mutex10ReaderLockEv(mu);
  __tsan_acquire(mu);
}
CAIRN_WRAP(bool, _ZN4absl7debian35Mutex7TryLockEv, Mutex* mu) {
  const bool locked = __real__ZN4absl7debian35Mutex7TryLockEv(mu);
  if (locked) __tsan_acquire(mu);
  return locked;
}
CAIRN_WRAP(void, _ZN4absl7debian35Mutex6UnlockEv, Mutex* mu) {
  __tsan_release(mu);
  __real__ZN4absl7debian35Mutex6UnlockEv(mu);
}
CAIRN_WRAP(void, _ZN4absl7debian35Mutex12ReaderUnlockEv, Mutex* mu) {
  __tsan_release(mu);
  __real__ZN4absl7debian35Mutex12ReaderUnlockEv(mu);
}
CAIRN_WRAP(void, _ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE, Mutex* mu,
           const Condition& cond) {
  __real__ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE(mu, cond);
  __tsan_acquire(mu);
}
CAIRN_WRAP(bool, _ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE,
           Mutex* mu, const Condition& cond, Duration timeout) {
  const bool met =
      __real__ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(mu, cond,
                                                                                         timeout);
  __tsan_acquire(mu);  // held on return either way
  return met;
}
CAIRN_WRAP(bool, _ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE,
           Mutex* mu, const Condition& cond, Time deadline) {
  const bool met = __real__ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
      mu, cond, deadline);
  __tsan_acquire(mu);
  return met;
}
CAIRN_WRAP(void, _ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE, Mutex* mu, const Condition& cond) {
  __tsan_release(mu);
  __real__ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(mu, cond);
  __tsan_acquire(mu);
}
CAIRN_WRAP(bool, _ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE,
           Mutex* mu, const Condition& cond, Duration timeout) {
  __tsan_release(mu);
  const bool met = __real__ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE(
      mu, cond, timeout);
  __tsan_acquire(mu);
  return met;
}
CAIRN_WRAP(bool, _ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE, Mutex* mu,
           const Condition& cond, Time deadline) {
  __tsan_release(mu);
  const bool met = __real__ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE(
      mu, cond, deadline);
  __tsan_acquire(mu);
  return met;
}

CAIRN_WRAP(void, _ZN4absl7debian37CondVar4WaitEPNS0_5MutexE, CondVar* cv, Mutex* mu) {
  __tsan_release(mu);
  __real__ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(cv, mu);
  __tsan_acquire(mu);
}
CAIRN_WRAP(bool, _ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE, CondVar* cv,
           Mutex* mu, Duration timeout) {
  __tsan_release(mu);
  const bool timed_out =
      __real__ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE(cv, mu, timeout);
  __tsan_acquire(mu);
  return timed_out;
}
CAIRN_WRAP(bool, _ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE, CondVar* cv,
           Mutex* mu, Time deadline) {
  __tsan_release(mu);
  const bool timed_out =
      __real__ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE(cv, mu, deadline);
  __tsan_acquire(mu);
  return timed_out;
}

// Notifying releases; seeing the notification acquires.
CAIRN_WRAP(void, _ZN4absl7debian312Notification6NotifyEv, Notification* n) {
  __tsan_release(FlagOf(n));
  __real__ZN4absl7debian312Notification6NotifyEv(n);
}
CAIRN_WRAP(bool, _ZN4absl7debian312Notification23HasBeenNotifiedInternalEPKSt6atomicIbE,
           const std::atomic<bool>* flag) {
  const bool notified =
      __real__ZN4absl7debian312Notification23HasBeenNotifiedInternalEPKSt6atomicIbE(flag);
  if (notified) __tsan_acquire(const_cast<std::atomic<bool>*>(flag));
  return notified;
}
CAIRN_WRAP(void, _ZNK4absl7debian312Notification19WaitForNotificationEv, const Notification* n) {
  __real__ZNK4absl7debian312Notification19WaitForNotificationEv(n);
  __tsan_acquire(FlagOf(n));
}
CAIRN_WRAP(bool, _ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE,
           const Notification* n, Duration timeout) {
  const bool notified =
      __real__ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE(
          n, timeout);
  if (notified) __tsan_acquire(FlagOf(n));
  return notified;
}

// Every thread's arrival is released before it blocks and acquired by all once they leave.
CAIRN_WRAP(bool, _ZN4absl7debian37Barrier5BlockEv, absl::Barrier* barrier) {
  __tsan_release(barrier);
  const bool last = __real__ZN4absl7debian37Barrier5BlockEv(barrier);
  __tsan_acquire(barrier);
  return last;
}

#undef CAIRN_WRAP

#endif  // defined(__SANITIZE_THREAD__)
