// coipc-torture --hostile: a scribbler process writes garbage into a live channel's shared
// state (stamps, lengths, unit counts, sender and receiver slots, the tail) while senders
// and receivers use it. The promise checked is not "the stream is right" (it cannot be) but:
//
//   - every party gets errors or valid frames, never a crash or an out-of-bounds access
//     (test builds put a PROT_NONE guard region after every mapping, modules/segment.cpp:
//     a read past the segment is a SIGSEGV, which the supervisor sees);
//   - every received frame is bounded: at most max_message_size bytes (bytes) or exactly
//     sizeof(T) (typed), and the party reads every byte of it;
//   - every call returns by its own timeout (plus a slack for a loaded machine): a
//     scribbler can pose as a live, slow receiver and hold a block-policy sender back
//     legitimately, so "by its timeout" is all that can be promised;
//   - every party keeps making calls, and leaves and exits 0 when told to.
//
// The same binary as the kill torture: `coipc-torture --hostile` is the supervisor here
// (hostile.cpp), which starts its parties as `coipc-torture --party scribbler|hostile-sender|
// hostile-receiver ...` (scribbler.cpp, party_hostile.cpp). Parties count into their record
// of the report segment (report.hpp's hostile_record) as they go: they may be SIGKILLed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "party_line.hpp"
#include "report.hpp"
#include "variant.hpp"

namespace torture {

struct hostile_options {
  std::uint64_t seed = 0;
  double duration_s = 20;          ///< in all, split over the variants
  bool all = false;                ///< every variant in turn, else `single`
  variant single;
  unsigned channel_senders = 2;    ///< senders of a channel (a route has one)
  std::uint64_t kills = 0;         ///< random SIGKILLs of parties, in all (split over the variants)
  unsigned timeout_min_ms = 50;    ///< each timed call's timeout: uniform in [min, max]
  unsigned timeout_max_ms = 100;
  unsigned overrun_slack_ms = 200; ///< how far past its timeout a call may return (a loaded machine)
  unsigned progress_bound_ms = 0;  ///< longest a live party may go without a call returning; 0: max + slack + 700
  std::string json_path;
  bool verbose = false;
};

/// Runs the hostile torture (every variant asked for); returns the exit status.
int run_hostile(const hostile_options& options);

// ---- the parties ---------------------------------------------------------------------------

/// Whether `role` (the value after --party) names a hostile party.
bool is_hostile_role(const std::string& role);

/// The common options (party_line.hpp; the role: sender, receiver or scribbler), and the
/// hostile writer's own.
struct hostile_party_config : party_base {
  unsigned timeout_min_ms = 50;
  unsigned timeout_max_ms = 100;
};

/// Parses a hostile party's command line (from --party on); nullopt (with a message) when
/// malformed.
std::optional<hostile_party_config> parse_hostile_party(const std::vector<std::string>& args, std::string& error);

/// Runs a hostile party; returns its exit status (0 when it left as told).
int run_hostile_party(const hostile_party_config& cfg);
int run_hostile_sender(const hostile_party_config& cfg, report& rep, party_record& rec);
int run_hostile_receiver(const hostile_party_config& cfg, report& rep, party_record& rec);
int run_scribbler(const hostile_party_config& cfg, report& rep, party_record& rec);

// ---- what the parties count ----------------------------------------------------------------

/// The calls a hostile party makes (for the longest overrun: which call it was).
enum class call_kind : std::uint32_t {
  open, send_for, try_send, recv_for, try_recv, view_for, try_view, recv_into_for, try_recv_into,
  async_send, async_recv,
};
inline constexpr unsigned call_kind_count = 11;
inline constexpr const char* call_kind_names[call_kind_count] = {
    "open",     "send_for",      "try_send",      "recv_for",   "try_recv",  "view_for",
    "try_view", "recv_into_for", "try_recv_into", "async_send", "async_recv"};

/// Where the scribbler writes (counted per target in hostile_record::writes).
enum class scribble_target : unsigned {
  stamp,             ///< a frame entry's whole stamp: laps, states, senders, units
  units,             ///< only the unit count inside an entry's stamp
  info,              ///< a frame entry's info: length and sequence number
  receiver_owner,    ///< a receiver slot's owner token
  receiver_position, ///< a receiver slot's read position
  sender_slot,       ///< a sender slot's owner, intent start/units or next sequence number
  tail,              ///< the claim frontier
  control,           ///< the control block's other words: membership, wait cells, counters
  pose,              ///< poses as a live peer begun: a slow receiver, a sender stalled mid-claim
};
static_assert(hostile_target_count == 9);
inline constexpr const char* scribble_target_names[hostile_target_count] = {
    "stamp", "units", "info", "receiver_owner", "receiver_position", "sender_slot", "tail", "control", "pose"};

/// coipc::errc's names, by value (index 0: any other error).
inline constexpr const char* hostile_error_names[hostile_error_kinds] = {
    "other",           "invalid_name",      "not_found",   "already_exists", "permission_denied",
    "corrupt_segment", "version_mismatch",  "type_mismatch", "geometry_mismatch", "message_too_large",
    "timeout",         "would_block",       "closed",      "sender_exists",  "too_many_peers",
    "wrong_role",      "invalid_argument",  "system_error", "loan_outstanding", "(unused)"};

}  // namespace torture
