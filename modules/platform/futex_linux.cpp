// Linux implementation of coipc:platform's parking: futex(2) and futex_waitv(2).
module;
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>
#include <linux/futex.h>
#include <optional>
#include <sched.h>
#include <span>
#include <sys/syscall.h>
#include <unistd.h>
module coipc;

namespace coipc::platform {

namespace {
timespec to_timespec(std::chrono::nanoseconds d) noexcept {
  if (d.count() < 0) d = std::chrono::nanoseconds::zero();
  return timespec{static_cast<time_t>(d.count() / 1'000'000'000),
                  static_cast<long>(d.count() % 1'000'000'000)};
}

const std::uint32_t* address_of(const std::atomic<std::uint32_t>& word) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  return reinterpret_cast<const std::uint32_t*>(&word);
}

park_result result_of_errno(int err) noexcept {
  switch (err) {
    case EAGAIN: return park_result::value_changed;
    case ETIMEDOUT: return park_result::timed_out;
    case EINTR: return park_result::interrupted;
    default: return park_result::woken;  // callers re-check their condition anyway
  }
}

#ifdef SYS_futex_waitv
// -1: unknown, 0: ENOSYS, 1: available. Relaxed: a benign race, every thread computes the
// same answer.
std::atomic<int> waitv_state{-1};
#endif
}  // namespace

park_result park_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      std::optional<std::chrono::nanoseconds> timeout) noexcept {
  timespec ts{};
  if (timeout) ts = to_timespec(*timeout);
  // FUTEX_WAIT without FUTEX_PRIVATE_FLAG: the word lives in memory shared between
  // processes, so the kernel must key it by the physical page, not by this mm.
  long rc = syscall(SYS_futex, address_of(word), FUTEX_WAIT, expected, timeout ? &ts : nullptr,
                    nullptr, 0);
  return rc == 0 ? park_result::woken : result_of_errno(errno);
}

int park_wake(const std::atomic<std::uint32_t>& word, int count) noexcept {
  long rc = syscall(SYS_futex, address_of(word), FUTEX_WAKE, count, nullptr, nullptr, 0);
  return rc < 0 ? 0 : static_cast<int>(rc);
}

namespace {
// Relaxed: a test switch, set before the waits it affects.
std::atomic<bool> forced_fallback{false};
}  // namespace

void force_wait_any_fallback(bool on) noexcept { forced_fallback.store(on, std::memory_order_relaxed); }

bool has_wait_any() noexcept {
  if (forced_fallback.load(std::memory_order_relaxed)) return false;  // relaxed: a test switch
#ifdef SYS_futex_waitv
  int state = waitv_state.load(std::memory_order_relaxed);  // relaxed: idempotent probe
  if (state < 0) {
    // An empty wait list is rejected with EINVAL by a kernel that has the call and with
    // ENOSYS by one that does not; it never sleeps.
    long rc = syscall(SYS_futex_waitv, nullptr, 0, 0, nullptr, CLOCK_MONOTONIC);
    state = (rc < 0 && errno == ENOSYS) ? 0 : 1;
    waitv_state.store(state, std::memory_order_relaxed);  // relaxed: idempotent probe
  }
  return state == 1;
#else
  return false;
#endif
}

park_result park_wait_any(std::span<const park_target> targets,
                          std::optional<std::chrono::nanoseconds> timeout,
                          std::chrono::nanoseconds fallback_slice) noexcept {
  if (targets.empty()) {
    if (timeout) {
      timespec ts = to_timespec(*timeout);
      nanosleep(&ts, nullptr);
    }
    return park_result::timed_out;
  }
#ifdef SYS_futex_waitv
  if (targets.size() <= FUTEX_WAITV_MAX && has_wait_any()) {
    futex_waitv waiters[FUTEX_WAITV_MAX] = {};
    for (std::size_t i = 0; i < targets.size(); ++i) {
      waiters[i].val = targets[i].expected;
      waiters[i].uaddr = reinterpret_cast<std::uintptr_t>(address_of(*targets[i].word));
      waiters[i].flags = FUTEX_32;  // shared (no FUTEX_PRIVATE_FLAG): cross-process words
    }
    // futex_waitv takes an absolute deadline on the given clock.
    timespec deadline{};
    if (timeout) {
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      auto abs = std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec) +
                 *timeout;
      deadline = to_timespec(abs);
    }
    long rc = syscall(SYS_futex_waitv, waiters, static_cast<unsigned>(targets.size()), 0,
                      timeout ? &deadline : nullptr, CLOCK_MONOTONIC);
    return rc >= 0 ? park_result::woken : result_of_errno(errno);
  }
#endif
  // Fallback: park on the first word only, for a bounded slice.
  auto slice = timeout ? std::min(*timeout, fallback_slice) : fallback_slice;
  park_result r = park_wait(*targets[0].word, targets[0].expected, slice);
  if (r == park_result::timed_out && (!timeout || slice < *timeout)) return park_result::woken;
  return r;
}

void yield_thread() noexcept { sched_yield(); }

}  // namespace coipc::platform
