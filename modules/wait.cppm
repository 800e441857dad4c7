// coipc:wait — SpinWait backoff and the park/wake protocol over a futex word in shared memory.
//
// Waiting has three stages, in the shape of parking_lot's SpinWait:
//   1. spin: rounds of 2, 4, 8 ... CPU pauses (exponential), re-checking between rounds;
//   2. yield: rounds of sched_yield, for when the peer that will satisfy us needs our core
//      (2 cores, 4 processes: exactly the case where spinning burns the peer's time);
//   3. park: a futex wait on a 32-bit "epoch" word in the segment.
// The counts are tunable (spin_policy) and measured by coipc-bench.
//
// ---- The park/wake protocol and why it cannot lose a wake-up ----------------------------
//
// Each direction (receivers waiting for data, senders waiting for space) has a wait_cell
// in shared memory: `epoch` (the futex word) and `parked` (how many are parked or about to
// park). A waiter, after its spin stage found nothing:
//
//     parked.fetch_add(1, relaxed)          (A)
//     atomic_thread_fence(seq_cst)          (F1)
//     e = epoch.load(acquire)               (E)
//     if (!ready()) futex_wait(&epoch, e)   (R: re-check; sleeps only while epoch == e)
//     parked.fetch_sub(1, relaxed)
//
// A notifier, after making the condition true with a release store (S):
//
//     atomic_thread_fence(seq_cst)          (F2)
//     if (parked.load(relaxed) != 0)        (P)
//       { epoch.fetch_add(1, release); futex_wake(&epoch, all); }
//
// F1 and F2 are seq_cst fences, so one precedes the other in the single total order:
//   - F1 before F2: P (after F2) sees A (before F1), so the notifier bumps the epoch and
//     wakes. The waiter read the epoch at E either before the bump (then futex_wait finds
//     the word changed and returns at once, or is asleep and gets woken: the kernel checks
//     the word and queues the waiter atomically) or after it (then its acquire of the
//     epoch pairs with the release bump, S is visible, and R sees the condition true).
//   - F2 before F1: R (after F1) sees S (before F2), so the waiter does not sleep.
// Either way no waiter sleeps through a notification. While nobody is parked the notifier
// pays one fence and one load, and never a syscall: wake-ups are issued only when someone
// really sleeps. `parked` is relaxed at A and P because the fences give the ordering, and
// relaxed at the decrement because a notifier that still sees the old count only issues
// one needless wake.
module;
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <optional>
export module coipc:wait;
import :platform;

export namespace coipc {

/// How long a waiter spins and yields before it parks on a futex. The defaults follow
/// parking_lot (a few exponential pause rounds, then yields) and were tuned with
/// coipc-bench on a 2-core machine running up to 4 processes.
struct spin_policy {
  std::uint32_t spin_rounds = 6;   ///< rounds of 2, 4, ... 2^spin_rounds CPU pauses
  std::uint32_t yield_rounds = 8;  ///< then this many sched_yield rounds, then park
};

/// The spin and yield stages. `spin()` backs off once and returns true while the policy
/// allows more; false means "park now".
class spin_wait {
 public:
  explicit spin_wait(spin_policy policy = {}) noexcept : policy_(policy) {}

  bool spin() noexcept {
    if (counter_ < policy_.spin_rounds) {
      ++counter_;
      for (std::uint32_t i = 0, n = 1u << counter_; i < n; ++i) platform::cpu_relax();
      return true;
    }
    if (counter_ < policy_.spin_rounds + policy_.yield_rounds) {
      ++counter_;
      platform::yield_thread();
      return true;
    }
    return false;
  }

  void reset() noexcept { counter_ = 0; }

 private:
  spin_policy policy_;
  std::uint32_t counter_ = 0;
};

}  // namespace coipc

export namespace coipc::detail {

/// One direction's park/wake state, in shared memory. See the protocol above.
struct wait_cell {
  std::atomic<std::uint32_t> epoch;   ///< the futex word; bumped by notifiers
  std::atomic<std::uint32_t> parked;  ///< waiters parked or about to park
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(sizeof(wait_cell) == 8);

/// Per-segment counters of futex syscalls issued (slow path only).
struct futex_counters {
  std::atomic<std::uint64_t> waits;
  std::atomic<std::uint64_t> wakes;
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

/// The notifier's side: call after the release store that made the condition true.
inline void notify_parked(wait_cell& cell, futex_counters& counters) noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // F2: pairs with F1 in park_once
  // Relaxed: ordered by the fences (see the protocol essay above).
  if (cell.parked.load(std::memory_order_relaxed) != 0) {
    cell.epoch.fetch_add(1, std::memory_order_release);  // SYNC POINT: epoch bump -> E
    // Relaxed: a statistic, read by benchmarks after the run.
    counters.wakes.fetch_add(1, std::memory_order_relaxed);
    platform::park_wake(cell.epoch, INT_MAX);
  }
}

/// The waiter's side, once: parks unless `ready()` holds after announcing itself. Returns
/// true when it found the condition ready without sleeping.
template <class Ready>
bool park_once(wait_cell& cell, futex_counters& counters, Ready&& ready,
               std::optional<std::chrono::nanoseconds> timeout) noexcept {
  // Relaxed: the seq_cst fence right after orders it (A before F1).
  cell.parked.fetch_add(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // F1: pairs with F2 in notify_parked
  const std::uint32_t e = cell.epoch.load(std::memory_order_acquire);  // SYNC POINT: epoch bump -> E
  bool was_ready = ready();
  if (!was_ready) {
    // Relaxed: a statistic, read by benchmarks after the run.
    counters.waits.fetch_add(1, std::memory_order_relaxed);
    platform::park_wait(cell.epoch, e, timeout);
  }
  // Relaxed: a notifier that misses the decrement only issues one needless wake.
  cell.parked.fetch_sub(1, std::memory_order_relaxed);
  return was_ready;
}

}  // namespace coipc::detail
