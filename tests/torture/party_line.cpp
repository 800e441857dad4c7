// coipc-torture: a party's command line (party_line.hpp).
#include "party_line.hpp"

#include <exception>

namespace torture {

std::vector<std::string> party_command_line(const char* role_name, const party_base& p) {
  std::vector<std::string> args = {"coipc-torture", "--party", role_name};
  for (auto& f : p.v.flags()) args.push_back(f);
  for (const std::string& a : {std::string("--name"), p.channel, std::string("--report"), p.report_name,
                               std::string("--incarnation"), std::to_string(p.incarnation), std::string("--seed"),
                               std::to_string(p.seed), std::string("--t0"), std::to_string(p.t0_ns)}) {
    args.push_back(a);
  }
  return args;
}

bool parse_party_line(const std::vector<std::string>& args, const char* who,
                      const std::function<party_role(const std::string&)>& role_of, const party_option_parser& own,
                      party_base& c, std::string& error) {
  auto bad = [&](const std::string& what) {
    error = std::string(who) + ": " + what;
    return false;
  };
  // A malformed number (std::stoull) is a malformed command line, not a crash.
  try {
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (i + 1 >= args.size()) return bad("missing value after " + a);
      const std::string& val = args[++i];
      if (a == "--party") {
        c.role = role_of(val);
        if (c.role == party_role::none) return bad("unknown role " + val);
      } else if (a == "--kind") {
        c.v.kind = val == "channel" ? kind_t::channel : kind_t::route;
      } else if (a == "--policy") {
        c.v.policy = val == "overwrite" ? policy_t::overwrite : policy_t::block;
      } else if (a == "--payload") {
        c.v.payload = val == "typed" ? payload_t::typed : payload_t::bytes;
      } else if (a == "--api") {
        c.v.api = val == "coroutine" ? api_t::coroutine : api_t::blocking;
      } else if (a == "--name") {
        c.channel = val;
      } else if (a == "--report") {
        c.report_name = val;
      } else if (a == "--incarnation") {
        c.incarnation = std::stoull(val);
      } else if (a == "--seed") {
        c.seed = std::stoull(val);
      } else if (a == "--t0") {
        c.t0_ns = std::stoull(val);
      } else {
        std::string own_error;
        if (!own(a, val, own_error)) return bad("unknown option " + a);
        if (!own_error.empty()) return bad(own_error);
      }
    }
  } catch (const std::exception& e) {
    return bad(e.what());
  }
  if (c.role == party_role::none || c.channel.empty() || c.report_name.empty() || c.incarnation == 0) {
    return bad("--party, --name, --report and --incarnation are required");
  }
  return true;
}

}  // namespace torture
