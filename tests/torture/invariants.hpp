// coipc-torture: the invariants, and the receiver-side checker of a message stream.
//
// Each invariant is a pair of counters, checks and failures, summed over every party
// incarnation (and the supervisor's own checks). A failure is never fatal to the party that
// finds it: the run goes on, the failure is reported with the seed and the events around it,
// and the tool exits non-zero at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace torture {

enum class invariant : unsigned {
  intact,               ///< every frame whole: length and checksum right (and the sender slot)
  increasing,           ///< per sender incarnation, sequence numbers strictly increase
  no_duplicate,         ///< nothing received twice
  no_gap,               ///< block: no gap, except before the receiver connected
  block_complete,       ///< block: a surviving receiver got everything published after it connected
  overwrite_accounting, ///< overwrite: received + lost adds up with what was sent
  progress,             ///< while the kills go on and after the last, every live party makes progress within a bound
  receiver_count,       ///< receiver_count() is what is live
  no_leaked_slots,      ///< when everyone is gone, every slot can be taken again
  no_errors,            ///< parties open, send and receive without errors, and end as expected
  drained,              ///< while the senders pause, every live receiver takes all there is (no lost wake-up)
};
inline constexpr std::size_t invariant_count = 11;

inline constexpr const char* invariant_names[invariant_count] = {
    "intact",         "increasing",     "no_duplicate",    "no_gap",    "block_complete",
    "overwrite_accounting", "progress", "receiver_count", "no_leaked_slots", "no_errors", "drained",
};

inline constexpr const char* invariant_descriptions[invariant_count] = {
    "every frame intact (length, checksum, sender slot)",
    "per sender incarnation, sequences strictly increasing",
    "nothing received twice",
    "block: no gap except before the receiver connected",
    "block: surviving receivers got every message published after they connected",
    "overwrite: received + lost adds up with what was sent",
    "during the kills and after the last, every connected party makes progress within the bound",
    "receiver_count() returns to what is live",
    "when all parties are gone, no slot is leaked",
    "parties open/send/receive without errors and end as expected",
    "while the senders pause, every live receiver takes all there is (no lost wake-up)",
};

inline const char* name_of(invariant i) { return invariant_names[static_cast<unsigned>(i)]; }

class party_log;
class report;

/// A receiver incarnation's checks of what it receives, per sender incarnation.
///
/// Under block, a receiver must see each sender incarnation's messages as 0, 1, 2, ...
/// from the first one it sees (which is 0 when the sender opened the channel after the
/// receiver connected); a sender killed half way only loses its tail. Under overwrite,
/// gaps are allowed and the library counts them in lost(): at the end the receiver checks
/// lost() against the gaps it saw (a lower bound, exact per sender incarnation) and
/// received + lost against what the senders published during its life (an upper bound).
class stream_checker {
 public:
  stream_checker(party_log& log, const report& rep, bool block_policy, std::uint64_t connected_ns);

  /// One message as received. `library_slot`: the sender id the library reported (0 when
  /// the API does not say). Returns false for the end-of-run sentinel (the caller stops).
  bool on_message(std::span<const std::byte> m, std::uint32_t library_slot);

  /// At the sentinel: the end checks against the senders' final records.
  void on_end(std::uint64_t lost);

 private:
  struct sender_stream {
    bool seen = false;
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::uint64_t received = 0;
    std::uint64_t gaps = 0;  // messages skipped between two received ones (overwrite)
  };
  party_log& log_;
  const report& rep_;
  bool block_;
  std::uint64_t connected_ns_;
  std::uint64_t received_ = 0;
  std::vector<sender_stream> streams_;  // by incarnation id
};

}  // namespace torture
