// coipc-torture: the report segment, shared by the supervisor and every party of a variant.
//
// Parties are killed with SIGKILL at any instant, so they cannot be asked for their results
// at the end: they write them as they go into a record of their own in shared memory, which
// outlives them, and the supervisor reads the records whenever it likes. Each record has
// one writer for its counters (the party); the supervisor writes only how the party ended.
// The header carries the supervisor's phase switches (disarm the fault hooks, the instant of
// the last kill, stop the senders, senders gone).
//
// The segment is a plain POSIX shared-memory object (not a coipc channel: this is the
// referee, it must not depend on what it judges). Its records are indexed by incarnation
// id; ids are handed out by the supervisor, 1-based, unique within a variant.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "invariants.hpp"

namespace torture {

enum class party_role : std::uint32_t { none = 0, sender = 1, receiver = 2, scribbler = 3 };

/// How a party's incarnation ended, as the supervisor saw it.
enum class end_kind : std::uint32_t {
  live = 0,
  exited = 1,         ///< exited by itself (status in exit_status)
  killed_random = 2,  ///< SIGKILLed by the supervisor at a random instant
  killed_point = 3,   ///< raised SIGKILL on itself at its --die-at point (its count is exact)
  died_other = 4,     ///< any other death (a signal nobody sent on purpose)
  killed_published = 5,  ///< raised SIGKILL on itself after publishing a message it had not counted
};

/// Party-side states.
enum class party_state : std::uint32_t { spawned = 0, connected = 1, finished = 2 };

struct report_header {
  std::uint64_t magic;
  std::uint32_t records;
  /// 1 once the kill phase is over: fault hooks stop firing.
  std::atomic<std::uint32_t> disarmed;
  /// CLOCK_MONOTONIC ns of the start of the quiet phase (0 before): progress gaps count
  /// from there.
  std::atomic<std::uint64_t> quiet_since_ns;
  /// 1: senders finish their current message and exit.
  std::atomic<std::uint32_t> stop_senders;
  /// 1: every sender is gone and its record is final (the receivers' end checks read them).
  std::atomic<std::uint32_t> senders_done;
  /// --hostile: 1 when every party (scribbler included) is to leave and exit 0.
  std::atomic<std::uint32_t> hostile_stop;
  /// 1: senders pause between messages (the supervisor's drained check; see supervisor.cpp).
  std::atomic<std::uint32_t> pause_senders;
};

// ---- --hostile (hostile.hpp) ----------------------------------------------------------------
// A hostile party does not check a stream (a scribbler corrupts it on purpose): it counts
// what its calls returned and how long they took.

/// Error kinds a hostile party counts: coipc::errc's values (1..19) at their own index, 0
/// for any other error (another category, an exception).
inline constexpr unsigned hostile_error_kinds = 20;
/// What the scribbler writes into: hostile.hpp's scribble_target.
inline constexpr unsigned hostile_target_count = 9;

struct hostile_record {
  std::atomic<std::uint64_t> calls;      ///< timed and try calls that returned
  std::atomic<std::uint64_t> frames;     ///< messages sent (senders) or received (receivers)
  std::atomic<std::uint64_t> whole;      ///< received frames that are whole torture messages
  std::atomic<std::uint64_t> unbounded;  ///< received frames longer than the channel allows
  std::atomic<std::uint64_t> errors[hostile_error_kinds];       ///< failed calls, by kind
  std::atomic<std::uint64_t> opens;                              ///< channel opens tried
  std::atomic<std::uint64_t> open_errors[hostile_error_kinds];  ///< failed opens, by kind
  std::atomic<std::uint64_t> max_open_ns;
  /// Longest time a call ran past its own timeout, less the time it waited for a CPU
  /// meanwhile (runnable, not running: the machine's share, not the library's).
  std::atomic<std::uint64_t> max_overrun_ns;
  std::atomic<std::uint64_t> max_overrun_waited_ns;  ///< that call's wait for a CPU
  std::atomic<std::uint64_t> max_overrun_at_ns;      ///< when that call returned
  std::atomic<std::uint64_t> max_raw_overrun_ns;     ///< longest time past a timeout, waits for a CPU included
  std::atomic<std::uint32_t> max_overrun_call;  ///< its hostile.hpp call_kind
  std::atomic<std::uint32_t> max_overrun_timeout_us;
  std::atomic<std::uint64_t> last_call_ns;      ///< when the last call returned (or the party began)
  std::atomic<std::uint64_t> writes[hostile_target_count];  ///< scribbler: words written, by target
};

struct party_record {
  std::atomic<std::uint32_t> role;   ///< party_role
  std::atomic<std::uint32_t> state;  ///< party_state
  std::atomic<std::int32_t> pid;
  std::atomic<std::uint32_t> slot;   ///< a sender's slot id on the channel
  // Written by the supervisor when it reaps the process:
  std::atomic<std::uint32_t> ended;  ///< end_kind
  std::atomic<std::int32_t> exit_status;
  std::atomic<std::uint64_t> end_ns;
  // Written by the party:
  std::atomic<std::uint32_t> fired_point;  ///< 1 + the die_point that fired, 0 none
  std::atomic<std::uint64_t> pre_open_ns;   ///< before opening the channel
  std::atomic<std::uint64_t> connected_ns;  ///< after opening it
  std::atomic<std::uint64_t> last_progress_ns;
  std::atomic<std::uint64_t> max_quiet_gap_ns;  ///< longest gap between progress in the quiet phase
  std::atomic<std::uint64_t> sent;              ///< messages whose send returned
  std::atomic<std::uint64_t> received;
  std::atomic<std::uint64_t> lost;  ///< the library's lost() (overwrite)
  std::atomic<std::uint64_t> checks[invariant_count];
  std::atomic<std::uint64_t> failures[invariant_count];
  std::atomic<std::uint64_t> first_failure_ns;
  std::atomic<std::uint32_t> failure_text_ready;
  char failure_text[236];
  hostile_record hostile;  ///< --hostile parties only
  std::atomic<std::uint32_t> paused;  ///< a sender: 1 while it pauses between messages
};

/// A mapped report segment.
class report {
 public:
  report() = default;
  /// Creates a fresh segment (the supervisor), replacing a stale one of the same name.
  static report create(const std::string& name, std::uint32_t records);
  /// Opens an existing one (a party).
  static report open(const std::string& name);
  report(report&& o) noexcept;
  report& operator=(report&& o) noexcept;
  report(const report&) = delete;
  report& operator=(const report&) = delete;
  ~report();

  report_header& header() const noexcept { return *header_; }
  std::uint32_t records() const noexcept { return header_->records; }
  /// The record of incarnation `id` (1..records); nullptr when out of range.
  party_record* record(std::uint64_t id) const noexcept;
  /// Removes the name (mappings stay valid).
  static void unlink(const std::string& name) noexcept;

 private:
  /// Maps size_ bytes of `fd` and closes it; throws (naming the segment) when it cannot.
  void map(int fd, const std::string& name);

  void* base_ = nullptr;
  std::size_t size_ = 0;
  report_header* header_ = nullptr;
};

/// CLOCK_MONOTONIC in ns: comparable between processes.
std::uint64_t monotonic_ns() noexcept;

/// printf into a std::string (at most 511 characters): for failure texts and reports.
[[gnu::format(printf, 1, 2)]] std::string strf(const char* fmt, ...);

/// Single-writer counter bump: no locked instruction on the party's hot path, and a reader
/// in another process sees a value that was true at some instant.
inline void bump(std::atomic<std::uint64_t>& a, std::uint64_t n = 1) noexcept {
  a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

/// A party's view of its own record: counts checks and failures, keeps the first failure's
/// description (and prints the first few to stderr at once, for whoever watches).
class party_log {
 public:
  /// `t0_ns`: the supervisor's start, so that times printed match its event log.
  party_log(party_record& r, std::uint64_t incarnation, std::uint64_t t0_ns)
      : r_(r), incarnation_(incarnation), t0_ns_(t0_ns) {}
  party_record& record() const noexcept { return r_; }
  /// One check made (its failure, if any, is reported with fail()).
  void count(invariant i) noexcept { bump(r_.checks[static_cast<unsigned>(i)]); }
  void fail(invariant i, const std::string& what);
  /// A message went through: progress, and the longest gap since the quiet phase began.
  void progress(const report_header& h) noexcept;

 private:
  party_record& r_;
  std::uint64_t incarnation_;
  std::uint64_t t0_ns_;
  std::uint64_t failures_printed_ = 0;
};

}  // namespace torture
