// coipc-torture: what one variant's run holds, in the kill torture (supervisor.cpp) and the
// hostile writer (hostile.cpp) alike: names of its own for the channel and the report
// segment, its seeds, its cast of party processes and its timeline; and, however the run
// ends (an exception included), no orphans and no segments left behind. Each supervisor
// derives its run from it and keeps what its parties do and what it checks.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "event_log.hpp"
#include "party_line.hpp"
#include "party_process.hpp"
#include "probe.hpp"
#include "report.hpp"
#include "run_plan.hpp"
#include "variant.hpp"

namespace torture {

/// Party: party_process and what the supervisor adds to it.
template <class Party>
class variant_stage {
 public:
  variant_stage(const variant_stage&) = delete;
  variant_stage& operator=(const variant_stage&) = delete;

 protected:
  /// prefix: the channel's name before "PID.INDEX" (the report segment's is "/coipc-" and
  /// the channel's), so that concurrent runs and variants never share a segment.
  variant_stage(const std::string& prefix, const variant& v, std::uint64_t run_seed, unsigned index, std::uint64_t t0,
                bool verbose)
      : v_(v), seed_(mix(run_seed + index)), t0_(t0), rng_(seed_), log_(t0, verbose) {
    channel_ = prefix + std::to_string(::getpid()) + "." + std::to_string(index);
    report_name_ = "/coipc-" + channel_;
  }
  // The derived run's members (the kill torture's probe of the channel among them) are gone
  // by now.
  ~variant_stage() {
    kill_all(parties_);
    remove_channel(channel_);
    report::unlink(report_name_);
  }

  void note(std::string text) { log_.note(std::move(text)); }
  double rel_s(std::uint64_t ns) const { return log_.rel_s(ns); }

  /// The next incarnation's id; nullopt (noted) when the report segment has no record left.
  std::optional<std::uint64_t> next_incarnation() {
    if (next_incarnation_ >= rep_.records()) {
      note("no incarnation record left: not restarting");
      return std::nullopt;
    }
    return ++next_incarnation_;
  }
  /// The common part of incarnation `id`'s command line, as `role_name`; its seed derived
  /// from the variant's.
  std::vector<std::string> command_line(const char* role_name, party_role role, std::uint64_t id) const {
    return party_command_line(role_name, {.role = role, .v = v_, .channel = channel_, .report_name = report_name_,
                                          .incarnation = id, .seed = mix(seed_ ^ id), .t0_ns = t0_});
  }

  variant v_;
  std::uint64_t seed_;  ///< the variant's, derived from the run's
  std::uint64_t t0_;
  std::mt19937_64 rng_;
  std::string channel_;
  std::string report_name_;
  report rep_;
  std::vector<Party> parties_;
  std::uint64_t next_incarnation_ = 0;
  event_log log_;
};

}  // namespace torture
