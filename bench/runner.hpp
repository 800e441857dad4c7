// Running one case: a runner process per case (its own process group, so a case that
// hangs is killed whole), parties as its child processes or threads, a start barrier, and
// the figures computed from what the parties reported.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "harness.hpp"
#include "spec.hpp"
#include "status.hpp"
#include "system.hpp"

namespace bench {

/// The figures of one run of a case (null where not measured).
struct measurement {
  run_status status = run_status::ok;  ///< ok, failed or timeout
  std::string error;                   ///< why not ok
  /// The run's time, first send to last receive, in seconds: what every rate divides by.
  std::optional<double> run_s;
  /// us/datum: run_s per message of one sender (pingpong: per one-way trip). msgs_per_s:
  /// messages sent by all senders; deliveries_per_s: messages received by all receivers
  /// together (N senders x M receivers x count per second; pingpong: one-way trips).
  std::optional<double> us_per_datum, msgs_per_s, deliveries_per_s, gbytes_per_s;
  std::optional<double> futex_calls_per_msg, ctxsw_per_msg, cpu_s;
  std::optional<std::uint64_t> lost, errors;
  std::optional<double> p50_ns, p99_ns, p999_ns, max_ns;
  /// coipc: the size of the case's segment files (/dev/shm/coipc.<name>, pingpong: both
  /// channels), as a party saw them while open; null for the peers.
  std::optional<std::uint64_t> segment_bytes;
  /// The peak RSS (VmHWM) of the largest party process (thread mode: of the runner process,
  /// which hosts every party), read as each party finishes its loop.
  std::optional<std::uint64_t> max_rss_kib;
};

/// The runner of the case in progress (0: none), for an interrupt handler to kill.
extern std::atomic<pid_t> current_runner;

/// Called about every quarter second while a case runs, with its completed fraction.
using progress_fn = std::function<void(double fraction)>;

measurement run_case(ipc_system& sys, const case_spec& spec, const size_table& sizes, shared_state& shared,
                     const std::string& prefix, double timeout_s, const progress_fn& progress);

}  // namespace bench
