// coipc-torture: the supervisor, which runs the parties, kills them, and keeps the score.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "invariants.hpp"
#include "summary_format.hpp"
#include "variant.hpp"

namespace torture {

struct run_options {
  std::uint64_t kills = 200;      ///< in all (split over the variants); 0: until --duration-s
  std::uint64_t seed = 0;
  double duration_s = 0;          ///< kill phases end after this much in all; 0: no limit
  bool all = false;               ///< every variant in turn, else `single`
  variant single;
  unsigned channel_senders = 2;   ///< senders of a channel (a route has one)
  std::string json_path;
  double arm_probability = 0.35;  ///< chance that a restarted party gets a --die-at point
  double blind_probability = 0.2; ///< chance that a party's liveness checks are blind (--blind)
  unsigned progress_bound_ms = 10 * stall_timeout_ms;
  unsigned quiet_ms = 0;          ///< after the last kill; 0: the bound + 200 ms
  bool verbose = false;           ///< print every event as it happens
};

/// Kinds of kill: at a random instant (by role), or by the party itself at a point.
inline constexpr unsigned kill_kind_count = 2 + die_point_count;
inline const char* kill_kind_name(unsigned k) {
  if (k == 0) return "random_sender";
  if (k == 1) return "random_receiver";
  return die_point_names[k - 2];
}

struct variant_result {
  std::string label;
  std::uint64_t kills = 0;
  std::uint64_t sender_incarnations = 0;
  std::uint64_t receiver_incarnations = 0;
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t lost = 0;
  std::uint64_t longest_gap_ns = 0;       ///< after the last kill
  std::uint64_t longest_kill_gap_ns = 0;  ///< while the kills went on
  std::uint64_t failures = 0;
  double seconds = 0;
};

struct summary {
  std::uint64_t seed = 0;
  std::uint64_t kills_by_kind[kill_kind_count] = {};
  std::uint64_t armed[die_point_count] = {};  ///< incarnations started with --die-at, by point
  std::uint64_t blind = 0;                    ///< incarnations started with blind liveness checks
  std::uint64_t sender_incarnations = 0;
  std::uint64_t receiver_incarnations = 0;
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t lost = 0;
  std::uint64_t checks[invariant_count] = {};
  std::uint64_t failures[invariant_count] = {};
  std::uint64_t longest_gap_ns = 0;       ///< after the last kill
  std::uint64_t longest_kill_gap_ns = 0;  ///< while the kills went on
  unsigned progress_bound_ms = 0;
  std::vector<variant_result> variants;
  std::vector<std::string> failure_reports;  ///< each names the seed, variant and events around it
  double seconds = 0;
  bool fault_points = false;

  std::uint64_t total_kills() const { return total(kills_by_kind); }
  std::uint64_t total_failures() const { return total(failures); }
};

/// Runs the whole torture (every variant asked for); returns the exit status.
int run_supervisor(const run_options& options);

void print_summary(const summary& s, std::FILE* out);
bool write_json(const summary& s, const std::string& path);

}  // namespace torture
