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
// in shared memory. Its futex word packs an epoch with a "waiters" bit:
// word = epoch << 1 | waiters. A waiter, after its spin stage found nothing:
//
//     v = word.fetch_or(1)                      (A: announce; v | 1 is what it sleeps on)
//     atomic_thread_fence(seq_cst)              (F1)
//     if (!ready()) futex_wait(&word, v | 1)    (R: re-check; sleeps only while unchanged)
//
// A notifier, after making the condition true with a release store (S):
//
//     atomic_thread_fence(seq_cst)              (F2)
//     v = word.load()                           (P)
//     while (v & 1)                             (someone announced since the last wake)
//       if (word.CAS(v, (v + 2) & ~1)) { futex_wake(&word, all); break; }
//
// F1 and F2 are seq_cst fences, so one precedes the other in the single total order:
//   - F1 before F2: P sees A or a later value of the word. If the bit is still set, this
//     notifier bumps the epoch and wakes all. If it is clear, another notifier bumped the
//     epoch (and woke all) after A. Either way the word differs from v | 1 after A, so the
//     waiter's futex_wait returns at once, or the waiter was already queued and is woken
//     (the kernel checks the word and queues the waiter atomically). It then loops and
//     re-checks, with a new announcement if it must wait again.
//   - F2 before F1: R (after F1) sees S, so the waiter does not sleep.
// Either way no waiter sleeps through a notification.
//
// The waiter's side is written once: announce() is A and park_fence() is F1. park_once
// builds a single-cell park from them; coipc.asio's waiter thread builds its park on many
// cells at once (announce on each, one F1, re-check them all, futex_waitv) from the same
// two, and the argument above holds for each of its cells.
//
// Cost: while nobody waits, a notifier pays one fence and one load and never a syscall.
// Once woken, waiters stay "un-announced" until one of them waits again, so a burst of
// notifications issues one FUTEX_WAKE, not one per message (with 4 processes on 2 cores a
// woken waiter may take a while to run, and a per-message count would wake it again and
// again). `parked` counts waiters inside futex_wait, for observation only.
module;
#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <optional>
#include <type_traits>
export module coipc:wait;
import :platform;

export namespace coipc {

/// How long a waiter spins and yields before it parks on a futex. The defaults follow
/// parking_lot's shape (exponential pause rounds, then yields). Measured with coipc-bench
/// on a 2-vCPU VM: 6 spin rounds (126 pauses, a few microseconds) keep route 1->1 at
/// ~0.07 us/msg with no futex call. With 3-4 processes on 2 cores the peer that will
/// satisfy a waiter often needs the waiter's core, and 8 yields were too few: channel 2->2
/// and route 1->2 (0.5 s runs, 7-20 repeats, alternating builds in one sitting) had median
/// futex calls per message of 0.010-0.054 in 4 of 9 cases; with 64 yields none was above
/// 0.001 in 7, at the same us/datum. A waiter with nothing coming spends those 64 yields
/// (tens of microseconds of CPU) once before it parks.
struct spin_policy {
  std::uint32_t spin_rounds = 6;    ///< rounds of 2, 4, ... 2^spin_rounds CPU pauses
  std::uint32_t yield_rounds = 64;  ///< then this many sched_yield rounds, then park
};

/// The spin and yield stages. `spin()` backs off once and returns true while the policy
/// allows more; false means "park now".
class spin_wait {
 public:
  inline explicit spin_wait(spin_policy policy = {}) noexcept : policy_(policy) {}

  inline bool spin() noexcept {
    if (counter_ < policy_.spin_rounds) {
      ++counter_;
      // Rounds past the 16th stay at 2^16 pauses (tens of microseconds): a longer pause
      // only delays noticing the condition, and the shift must stay defined.
      const std::uint64_t pauses = std::uint64_t{1} << std::min<std::uint64_t>(counter_, max_pause_shift);
      for (std::uint64_t i = 0; i < pauses; ++i) platform::cpu_relax();
      return true;
    }
    // 64-bit sum: a policy of "yield (almost) forever" must not wrap around to "park now".
    if (counter_ < std::uint64_t{policy_.spin_rounds} + policy_.yield_rounds) {
      ++counter_;
      platform::yield_thread();
      return true;
    }
    return false;
  }

  inline void reset() noexcept { counter_ = 0; }
  /// Changes the counts; the rounds already spent count against the new ones.
  inline void set_policy(spin_policy policy) noexcept { policy_ = policy; }

 private:
  static constexpr std::uint64_t max_pause_shift = 16;
  spin_policy policy_;
  std::uint64_t counter_ = 0;
};

}  // namespace coipc

export namespace coipc::detail {

/// How long a call may wait: not at all (the try_ calls), until a deadline (the _for
/// calls), or for as long as it takes (the blocking calls).
///
/// A timed mode's deadline is set when the call first finds it must wait (arm(), which the
/// waiting ladder calls with the time it read anyway), not when the mode is made: a call
/// that finds its message or its space at once never reads the clock (a clock read costs
/// more than the rest of such a call). The first attempt takes well under a microsecond,
/// so the timeout still runs from the call's start for any purpose a caller can tell.
struct wait_mode {
  enum class kind { try_once, until_deadline, forever };
  kind how = kind::forever;
  std::chrono::nanoseconds timeout{};
  std::optional<std::chrono::steady_clock::time_point> deadline;  // armed: until_deadline only

  inline static wait_mode try_once() noexcept { return {kind::try_once, {}, {}}; }
  inline static wait_mode for_duration(std::chrono::nanoseconds d) noexcept {
    return {kind::until_deadline, d, {}};
  }
  inline static wait_mode forever() noexcept { return {kind::forever, {}, {}}; }

  inline bool may_wait() const noexcept { return how != kind::try_once; }
  /// Starts a timed mode's clock at `now` (once; later calls keep the first deadline).
  inline void arm(std::chrono::steady_clock::time_point now) noexcept {
    if (how == kind::until_deadline && !deadline) deadline = now + timeout;
  }
  /// Whether the deadline has passed (an unarmed timed mode has not started to wait).
  inline bool expired(std::chrono::steady_clock::time_point now) const noexcept {
    return deadline && now >= *deadline;
  }
  /// Time left at `now` before the deadline; nullopt without one (arm() it first).
  inline std::optional<std::chrono::nanoseconds> time_left(std::chrono::steady_clock::time_point now) const noexcept {
    if (!deadline) return std::nullopt;
    return std::max(std::chrono::nanoseconds::zero(),
                    std::chrono::duration_cast<std::chrono::nanoseconds>(*deadline - now));
  }
};

/// One direction's park/wake state, in shared memory. See the protocol above.
struct wait_cell {
  std::atomic<std::uint32_t> word;    ///< the futex word: epoch << 1 | waiters
  std::atomic<std::uint32_t> parked;  ///< waiters inside futex_wait now (a gauge)
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(std::is_standard_layout_v<wait_cell> && sizeof(wait_cell) == 8);

/// Per-segment counters of futex syscalls issued (slow path only).
struct futex_counters {
  std::atomic<std::uint64_t> waits;
  std::atomic<std::uint64_t> wakes;
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

/// The notifier's side, after F2 (for callers that notify several cells after one fence).
inline void notify_parked_fenced(wait_cell& cell, futex_counters& counters) noexcept {
  // Relaxed: ordered by the caller's F2 fence (see the protocol essay above).
  std::uint32_t v = cell.word.load(std::memory_order_relaxed);
  while (v & 1u) {
    // Release: a waiter that reads the new epoch sees our condition (SYNC POINT: wake).
    // Relaxed on failure: the loop re-checks the value it gets.
    if (cell.word.compare_exchange_weak(v, (v + 2u) & ~1u, std::memory_order_release,
                                        std::memory_order_relaxed)) {
      // Relaxed: a statistic, read by benchmarks after the run.
      counters.wakes.fetch_add(1, std::memory_order_relaxed);
      platform::park_wake(cell.word, INT_MAX);
      break;
    }
  }
}

/// The notifier's side: call after the release store that made the condition true.
inline void notify_parked(wait_cell& cell, futex_counters& counters) noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // F2: pairs with F1 (park_fence)
  notify_parked_fenced(cell, counters);
}

/// The waiter's side, step A: announces a waiter on `cell`, so that the next notifier
/// wakes it. Returns the value to sleep on (the word as announced). A waiter that parks on
/// several cells at once (coipc.asio's waiter) announces on each, then fences once.
inline std::uint32_t announce(wait_cell& cell) noexcept {
  // Acquire: pairs with a notifier's release CAS (SYNC POINT: wake).
  return cell.word.fetch_or(1u, std::memory_order_acquire) | 1u;
}

/// The waiter's side, F1: between the announcements and the re-check of the condition.
inline void park_fence() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // F1: pairs with F2 in notify_parked
}

/// The waiter's side, once: parks unless `ready()` holds after announcing itself, for at
/// most `timeout`. Returns true when it found the condition ready without sleeping.
/// Callers loop: a return says nothing about the condition.
template <class Ready>
bool park_once(wait_cell& cell, futex_counters& counters, Ready&& ready,
               std::optional<std::chrono::nanoseconds> timeout) noexcept {
  const std::uint32_t v = announce(cell);
  park_fence();
  if (ready()) return true;
  // Relaxed: statistics and a gauge, never used for decisions.
  counters.waits.fetch_add(1, std::memory_order_relaxed);
  cell.parked.fetch_add(1, std::memory_order_relaxed);
  platform::park_wait(cell.word, v, timeout);
  cell.parked.fetch_sub(1, std::memory_order_relaxed);  // relaxed: a gauge
  return false;
}

/// The ladder a blocking call climbs after each attempt that found its operation not
/// ready (no message; no space): stall check, then give up if it is a try, spin and yield,
/// give up past the deadline, park. Written once, for sending and receiving alike.
///
/// The stall clock belongs to the caller (an endpoint member): it runs across calls, so
/// that try_ calls polled by coipc.asio check a stalled peer too.
class wait_ladder {
 public:
  enum class verdict { retry, would_block, timed_out };

  /// `idle_look_again`: the longest park when nothing holds the operation back (nullopt:
  /// until woken). A receiver looks again every stall_timeout: a sender killed between
  /// publishing and waking it leaves a message that nobody announces.
  inline wait_ladder(const wait_mode& mode, spin_policy spin, std::chrono::nanoseconds stall_timeout,
                     std::optional<std::chrono::steady_clock::time_point>& stall_at,
                     std::optional<std::chrono::nanoseconds> idle_look_again) noexcept
      : mode_(mode),
        backoff_(spin),
        stall_timeout_(stall_timeout),
        idle_look_again_(idle_look_again),
        stall_at_(stall_at) {}

  /// After a miss. `held`: a peer holds the operation back (a claim in progress at our
  /// position, a full ring), so the stall clock runs; once it expires `check_stall()` runs
  /// and the caller retries at once, and a check never repeats without the try and
  /// deadline tests in between, however long it took. The park on `cell` lasts until a
  /// wake, `ready()` at the re-check, the deadline or the next stall check.
  template <class CheckStall, class Ready>
  inline verdict after_miss(bool held, CheckStall&& check_stall, wait_cell& cell, futex_counters& counters,
                            Ready&& ready) noexcept {
    const auto now = std::chrono::steady_clock::now();
    mode_.arm(now);
    std::optional<std::chrono::nanoseconds> slice = idle_look_again_;
    if (held) {
      if (!stall_at_) {
        stall_at_ = now + stall_timeout_;
      } else if (now >= *stall_at_ && !stall_checked_) {
        check_stall();
        stall_at_ = std::chrono::steady_clock::now() + stall_timeout_;
        stall_checked_ = true;
        return verdict::retry;
      }
      slice = std::max(std::chrono::nanoseconds::zero(), *stall_at_ - now);
    }
    stall_checked_ = false;
    if (!mode_.may_wait()) return verdict::would_block;
    if (backoff_.spin()) return verdict::retry;
    if (mode_.expired(now)) return verdict::timed_out;
    if (auto left = mode_.time_left(now)) slice = slice ? std::min(*slice, *left) : *left;
    park_once(cell, counters, ready, slice);
    return verdict::retry;
  }

 private:
  wait_mode mode_;
  spin_wait backoff_;
  std::chrono::nanoseconds stall_timeout_;
  std::optional<std::chrono::nanoseconds> idle_look_again_;
  std::optional<std::chrono::steady_clock::time_point>& stall_at_;
  bool stall_checked_ = false;  // a stall check ran since the try/deadline tests last did
};

}  // namespace coipc::detail
