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

/// Arms the library's fault hook for cfg.die_at (when it names a library point): the Nth
/// time the point is reached, and while the supervisor has not disarmed the run, the party
/// notes the point in its record and raises SIGKILL on itself.
void arm_die_hook(const party_config& cfg, report_header& header, party_record& record);

/// With cfg.blind, this process's liveness checks see what they would under hidepid: kill()
/// and /proc prove no death, so only the slot locks tell the dead from the living.
void blind_liveness_checks(const party_config& cfg);

/// For mid_payload: whether this message is the one to die in (counts calls).
bool mid_payload_due(const party_config& cfg, const report_header& header) noexcept;
/// Notes the point in the record and raises SIGKILL.
[[noreturn]] void die_now(party_record& record, die_point p) noexcept;

int run_sender(const party_config& cfg);
int run_receiver(const party_config& cfg);

}  // namespace torture
