// coipc-torture: a party, one sender or receiver process started by the supervisor.
//
// The supervisor execs this same binary as
//
//     coipc-torture --party sender|receiver --kind ... --policy ... --payload ... --api ...
//                   --name CHANNEL --report SEGMENT --incarnation ID --seed S --t0 NS
//                   [--die-at POINT:N]
//
// A party writes everything it learns into its record of the report segment as it goes (it
// may be SIGKILLed at any instant), and exits 0 at the end of the run (a sender when told to
// stop, a receiver at the supervisor's end-of-run sentinel).
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "party_line.hpp"
#include "report.hpp"
#include "variant.hpp"

namespace torture {

/// The common options (party_line.hpp), and the kill torture's own.
struct party_config : party_base {
  std::optional<die_point> die_at;
  std::uint64_t die_after = 0;  ///< the Nth time the point is reached (1-based)
  bool blind = false;           ///< liveness checks learn nothing from kill() or /proc
};

/// Parses a party's command line (after --party); nullopt (with a message) when malformed.
std::optional<party_config> parse_party(const std::vector<std::string>& args, std::string& error);

/// What every party does first, sender or receiver: finds its record in the report, notes
/// its pid, arms the library's fault hook for cfg.die_at (the Nth time the point is reached,
/// while the supervisor has not disarmed the run, it notes the point and raises SIGKILL on
/// itself) and, with cfg.blind, blinds its liveness checks as hidepid would (kill() and
/// /proc prove no death: only the slot locks tell). nullptr when the report has no record
/// for cfg.incarnation.
party_record* start_party(const party_config& cfg, report& rep);

/// A co_spawn completion handler: an exception that ended the party's coroutine fails
/// no_errors ("<what>: <message>") and sets `status` to 3.
inline auto fail_on_exception(party_log& log, std::string what, int& status) {
  return [&log, what = std::move(what), &status](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      log.fail(invariant::no_errors, what + ": " + x.what());
      status = 3;
    }
  };
}

/// For mid_payload: whether this message is the one to die in (counts calls).
bool mid_payload_due(const party_config& cfg, const report_header& header) noexcept;
/// Notes the point in the record and raises SIGKILL.
[[noreturn]] void die_now(party_record& record, die_point p) noexcept;

int run_sender(const party_config& cfg);
int run_receiver(const party_config& cfg);

}  // namespace torture
