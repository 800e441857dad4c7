// coipc-torture: a party's command line, both ways: what the supervisors put on it and what
// the parties read back. The kill torture's parties (party.hpp) and the hostile writer's
// (hostile.hpp) are told the same things (their variant, channel, report segment,
// incarnation, seed, the supervisor's start) and differ only in their role names and a
// few options of their own; one writer and one reader keep the two in step.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "report.hpp"
#include "variant.hpp"

namespace torture {

/// What every party's command line names; party_config and hostile_party_config add their
/// own options to it.
struct party_base {
  party_role role = party_role::none;
  variant v;
  std::string channel;
  std::string report_name;
  std::uint64_t incarnation = 0;
  std::uint64_t seed = 0;
  std::uint64_t t0_ns = 0;  ///< the supervisor's start (CLOCK_MONOTONIC), for printed times
};

/// The command line that starts a party as `role_name` (argv[0] included); the caller
/// appends its own options.
std::vector<std::string> party_command_line(const char* role_name, const party_base& p);

/// A kind of party's own options: false when `flag` is not one of them; `error` set when
/// its value is malformed.
using party_option_parser =
    std::function<bool(const std::string& flag, const std::string& value, std::string& error)>;

/// Parses a party's command line (from --party on) into `c`: every option takes a value;
/// `role_of` maps the value of --party (party_role::none: not this kind's); `own` takes
/// the options that are not common. False, with `error` ("<who>: ..."), when malformed.
bool parse_party_line(const std::vector<std::string>& args, const char* who,
                      const std::function<party_role(const std::string&)>& role_of, const party_option_parser& own,
                      party_base& c, std::string& error);

}  // namespace torture
