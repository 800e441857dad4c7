// coipc:platform — the seam between coipc and the operating system.
//
// Everything OS-specific that coipc needs sits behind these declarations: parking on a
// 32-bit word in shared memory (a futex on Linux; __ulock_wait/__ulock_wake on macOS
// later), process identity and liveness, and named shared-memory objects. Each OS has its
// own implementation files under platform/; Linux is the one built and tested.
module;
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>
export module coipc:platform;

export namespace coipc::platform {

// ---- Parking on a word in shared memory -------------------------------------------------
//
// The shared (not process-private) futex operations: a waiter in one process is woken by a
// waker in another, as long as both map the same memory.

enum class park_result {
  woken,          ///< woken by park_wake (or spuriously: callers always re-check)
  value_changed,  ///< the word no longer held `expected` when the kernel looked
  timed_out,      ///< the timeout elapsed
  interrupted,    ///< a signal arrived
};

/// Sleeps while `word` holds `expected`, at most `timeout` (forever when empty).
park_result park_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      std::optional<std::chrono::nanoseconds> timeout) noexcept;

/// Wakes up to `count` waiters parked on `word`; returns how many were woken.
int park_wake(const std::atomic<std::uint32_t>& word, int count) noexcept;

/// One entry of park_wait_any: sleep while *word == expected.
struct park_target {
  const std::atomic<std::uint32_t>* word;
  std::uint32_t expected;
};

/// Sleeps until any of `targets` is woken or no longer holds its expected value, or the
/// timeout elapses. Uses futex_waitv (Linux 5.16+) when the kernel has it; otherwise
/// parks on the first target only with a timeout of at most `fallback_slice`, and the
/// caller's loop re-checks the others (correct, with bounded extra latency).
park_result park_wait_any(std::span<const park_target> targets,
                          std::optional<std::chrono::nanoseconds> timeout,
                          std::chrono::nanoseconds fallback_slice) noexcept;

/// True when park_wait_any uses futex_waitv on this kernel.
bool has_wait_any() noexcept;

/// Makes park_wait_any use its fallback as on a kernel without futex_waitv (for tests).
void force_wait_any_fallback(bool on) noexcept;

/// A short CPU pause in a spin loop (`pause` on x86, `yield` on Arm).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

/// Gives the rest of this time slice to another runnable thread.
void yield_thread() noexcept;

// ---- Processes ---------------------------------------------------------------------------

/// A process named so that a recycled pid is never mistaken for the original: the pid
/// plus the process's start time (clock ticks since boot on Linux).
struct process_id {
  std::uint32_t pid = 0;
  std::uint64_t start_time = 0;
  friend bool operator==(const process_id&, const process_id&) = default;
};

/// The calling process (not cached: a forked child is a different process). Its start
/// time is 0 when /proc/self/stat cannot be read.
process_id this_process() noexcept;

/// False once the process has exited, even while it is an unreaped zombie, and for a pid
/// that now belongs to a different process: only on positive evidence (ESRCH, a zombie, a
/// different start time). When /proc cannot be read (no file descriptor left, hidepid,
/// another user's process) the answer is true: unknown is not dead. The slot locks (below)
/// tell the dead from the living where this cannot.
bool is_alive(const process_id& process) noexcept;

// ---- Slot locks --------------------------------------------------------------------------
//
// A death signal that the kernel itself releases when its holder dies: an exclusive
// open-file-description (OFD) lock on one byte of a segment's file, one byte per slot.
// Unlike /proc it can be read whatever hides the holder (hidepid, another user's process,
// no file descriptor left to open /proc with), and a process that reused a dead holder's
// pid does not hold it.
//
// OFD locks belong to the open file description, not to the process: two descriptors of
// one file opened separately (two endpoints in one process) exclude each other, closing
// some other descriptor of the file does not drop them (as it would a classic POSIX lock),
// and they go away exactly when the last descriptor of their description is closed, which
// a process's death does. A description never conflicts with itself, so a query through
// the holder's own descriptor answers "free": the caller knows its own locks.

/// Where the lock bytes start: far beyond any segment's size, so that a lock never covers
/// a byte of the segment (a lock past the end of a file is allowed and does not grow it).
inline constexpr std::uint64_t slot_lock_base = std::uint64_t{1} << 50;

/// Whether another open file description holds a slot's lock.
enum class slot_lock_state {
  held,     ///< someone else holds it: its holder is alive (or still exiting)
  free,     ///< nobody else holds it
  unknown,  ///< the query failed (callers treat it as held: unknown is not dead)
};

/// Takes the exclusive lock on byte slot_lock_base + `index` of `fd`'s file without
/// waiting. False with `ec` set when it cannot: std::errc::resource_unavailable_try_again
/// (or permission_denied) when another description holds it, another errno otherwise.
/// Taking a lock `fd` already holds succeeds.
bool take_slot_lock(int fd, std::uint32_t index, std::error_code& ec) noexcept;

/// True when `ec` from take_slot_lock means "another description holds it".
bool slot_lock_taken_elsewhere(const std::error_code& ec) noexcept;

/// Releases the lock that `fd` holds on that byte (nothing when it holds none).
void release_slot_lock(int fd, std::uint32_t index) noexcept;

/// Whether a description other than `fd`'s holds the lock on that byte.
slot_lock_state query_slot_lock(int fd, std::uint32_t index) noexcept;

// ---- Named shared memory -----------------------------------------------------------------

/// Creates shared memory of `size` bytes, not yet visible under any name, with exactly
/// `mode` as its permissions. Returns a file descriptor, or -1 with `ec` set.
int shm_create_unnamed(std::size_t size, unsigned mode, std::error_code& ec) noexcept;

/// Gives the unnamed memory behind `fd` the name `object_name` atomically. Fails with
/// std::errc::file_exists when the name is taken (and then changes nothing).
bool shm_publish(int fd, std::string_view object_name, std::error_code& ec) noexcept;

/// Opens the existing object `object_name` for reading and writing; -1 with `ec` set.
int shm_open_existing(std::string_view object_name, std::error_code& ec) noexcept;

/// Removes the name; memory stays mapped in processes that have it mapped.
bool shm_remove(std::string_view object_name, std::error_code& ec) noexcept;

/// The names of existing objects that start with `prefix`, sorted.
std::vector<std::string> shm_list(std::string_view prefix);

}  // namespace coipc::platform
