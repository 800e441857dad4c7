// coipc:fault — test-only fault-injection points.
//
// Several defects live in windows a few microseconds wide: a process dies or stalls right
// after its tail CAS, a new owner takes a slot between a liveness check and the settling of
// the old owner's claim, a cancellation arrives between an operation's checks and its
// registration with the waiter. Tests hold such a window open deterministically: the code
// calls fault::at(point) there, and a test installs a hook that sleeps, signals a peer, or
// kills the process at that point.
//
// Compiled in only when COIPC_FAULT_INJECTION is defined (the build defines it where the
// tests are built: option COIPC_FAULT_INJECTION, on by default with COIPC_BUILD_TESTS).
// Otherwise at() is an empty inline function and the points cost nothing. The installed
// package never has them.
module;
#include <atomic>
export module coipc:fault;

export namespace coipc::detail::fault {

/// The places where a test can interpose.
enum class point : unsigned {
  after_tail_cas,       ///< a sender has claimed space (tail CAS) and written nothing yet
  before_publish,       ///< a sender has written its payload, not yet its stamp
  after_publish,        ///< a sender's stamp says published; the send has not returned
  after_death_check,    ///< a checker found a slot's owner dead, before it settles the claim
  liveness_check,       ///< inside platform::is_alive (to make a check slow)
  before_waiter_add,    ///< an async operation found its channel not ready, not yet registered
};

/// A test's hook: called at every point reached, in the thread that reaches it.
using hook_fn = void (*)(point);

// Blind liveness checks: while on, platform::is_alive learns nothing from kill() or /proc,
// as under hidepid or for another user's process (kill says EPERM, /proc/<pid>/stat cannot
// be read); then it must answer "alive", since nothing proves a death. Tests use it to show
// what the slot locks decide where /proc cannot.

#if defined(COIPC_FAULT_INJECTION)
inline constexpr bool enabled = true;

/// The installed hook; null when none. Acquire/release: a hook installed before a thread
/// starts is seen by it; the hook's own state is the test's business.
inline std::atomic<hook_fn> installed_hook{nullptr};

inline void set_hook(hook_fn fn) noexcept {
  installed_hook.store(fn, std::memory_order_release);  // SYNC POINT: fault hook
}

inline void at(point p) {
  if (hook_fn fn = installed_hook.load(std::memory_order_acquire)) fn(p);  // SYNC POINT: fault hook
}

/// Relaxed: a switch a test flips before the calls it affects (on the same thread, or
/// before starting the threads); it guards no other data.
inline std::atomic<bool> liveness_unknown_forced{false};

inline void force_liveness_unknown(bool on) noexcept {
  liveness_unknown_forced.store(on, std::memory_order_relaxed);  // relaxed: see the switch above
}

inline bool liveness_unknown() noexcept {
  return liveness_unknown_forced.load(std::memory_order_relaxed);  // relaxed: see the switch above
}
#else
inline constexpr bool enabled = false;
inline void set_hook(hook_fn) noexcept {}
inline void at(point) noexcept {}
inline void force_liveness_unknown(bool) noexcept {}
inline bool liveness_unknown() noexcept { return false; }
#endif

}  // namespace coipc::detail::fault
