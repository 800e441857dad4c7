// The parties of a case (senders, receivers, ping, pong) and what they share with the
// process that runs the case: a start barrier, timestamps and figures, in one page of
// shared anonymous memory made before any fork, so processes and threads use it alike.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "size_table.hpp"
#include "spec.hpp"

namespace bench {

inline constexpr std::uint32_t max_endpoints = 64;  ///< senders, and receivers, per case
inline constexpr std::uint32_t max_parties = 2 * max_endpoints;

/// Monotonic nanoseconds (CLOCK_MONOTONIC: one clock for every process on the machine).
std::int64_t now_ns() noexcept;

/// What one party reports. Written by that party only, before it counts itself done.
struct alignas(64) party_slot {
  std::atomic<std::uint64_t> progress;  ///< messages received so far (for the progress line)
  std::int64_t first_send_ns;           ///< senders, ping: just before the first send
  std::int64_t last_recv_ns;            ///< receivers, ping: just after the last receive
  std::uint64_t received;               ///< messages that passed every check
  std::uint64_t lost;                   ///< sequence numbers skipped
  std::uint64_t errors;                 ///< messages that failed a check
  double cpu_s;                         ///< process mode: CPU time from ready to done
  std::uint64_t vcsw;                   ///< voluntary context switches, same interval
  bool has_futex;                       ///< futex counters below are measured (coipc)
  std::uint64_t futex_waits, futex_wakes;
  bool has_latency;                     ///< ping: one-way latency (RTT / 2), nanoseconds
  double lat_p50, lat_p99, lat_p999, lat_max, lat_mean;
  std::uint64_t segment_bytes;          ///< coipc: its channel segments' size (0: not measured)
  std::uint64_t max_rss_kib;            ///< the party's process's peak RSS (VmHWM) at finish()
  char error[240];                      ///< first failure, NUL-terminated
};

/// The case's shared page. The futex words are 32-bit atomics in MAP_SHARED memory, so
/// waits use the shared (non-private) futex operations.
struct shared_state {
  std::atomic<std::uint32_t> ready;   ///< parties set up and waiting for the start
  std::atomic<std::uint32_t> go;      ///< 1: senders start
  std::atomic<std::uint32_t> done;    ///< parties finished their loops
  std::atomic<std::uint32_t> finish;  ///< 1: parties may tear down and leave
  std::atomic<std::uint32_t> failed;  ///< some party failed; the runner gives up
  double runner_cpu_s;                ///< thread mode: the runner's CPU time, start to done
  std::uint64_t runner_vcsw;
  party_slot slots[max_parties];

  /// A fresh page for a case, from shared anonymous memory (throws on failure).
  static shared_state* create();
  void reset() noexcept;
};

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, int timeout_ms) noexcept;
void futex_wake_all(std::atomic<std::uint32_t>& word) noexcept;

enum class party_role { sender, receiver, ping, pong };

/// One party: who it is, the case, and its handle on the shared page. Senders are slots
/// 0..N-1 and receivers N..N+M-1; ping is slot 0 and pong slot 1.
struct party {
  const case_spec* spec;
  const size_table* sizes;
  shared_state* shared;
  party_role role;
  std::uint32_t index;  ///< among the senders, or among the receivers
  bool in_thread;       ///< thread mode: CPU time is taken by the runner, not per party

  party_slot& slot() const noexcept;
  /// Set-up is done: counts this party ready and starts its CPU clock.
  void ready();
  /// Blocks until the runner gives the start (senders and ping only need it).
  void wait_go() const;
  /// The loop is done: stops the CPU clock, counts this party done and waits until every
  /// party is, so that nobody tears down a queue or socket a peer still reads.
  void finish();
  /// Records the first failure and tells the runner.
  void fail(std::string_view what) noexcept;

  double cpu_at_ready = 0;  ///< process mode: CPU seconds when ready() was called
  std::uint64_t vcsw_at_ready = 0;
};

/// CPU seconds (user + system) and voluntary context switches of this process so far.
void process_usage(double& cpu_s, std::uint64_t& vcsw) noexcept;

/// A "Name:   1234 kB" line of /proc/self/status (VmRSS, VmHWM, RssAnon, RssShmem, ...), in
/// KiB; 0 when it cannot be read.
std::uint64_t proc_status_kib(std::string_view field) noexcept;

/// The size of a file (st_size), e.g. a shared-memory segment under /dev/shm; 0 when it
/// cannot be stat'ed.
std::uint64_t file_bytes(const char* path) noexcept;

}  // namespace bench
