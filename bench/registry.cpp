#include "registry.hpp"

#include <fmt/format.h>

#include <algorithm>

// CMake defines COIPC_BENCH_HAVE_<PEER> for every optional peer, and for each one it did not
// find COIPC_BENCH_MISSING_<PEER>, the reason. Built without CMake (or its definitions),
// a peer counts as missing rather than as built: a wrong "built" would fail to link.
#ifndef COIPC_BENCH_HAVE_BOOST_MQ
#define COIPC_BENCH_HAVE_BOOST_MQ 0
#endif
#ifndef COIPC_BENCH_HAVE_ZMQ
#define COIPC_BENCH_HAVE_ZMQ 0
#endif
#ifndef COIPC_BENCH_HAVE_ICEORYX
#define COIPC_BENCH_HAVE_ICEORYX 0
#endif
#ifndef COIPC_BENCH_MISSING_BOOST_MQ
#define COIPC_BENCH_MISSING_BOOST_MQ "Boost.Interprocess was not looked for"
#endif
#ifndef COIPC_BENCH_MISSING_ZMQ
#define COIPC_BENCH_MISSING_ZMQ "libzmq was not looked for"
#endif
#ifndef COIPC_BENCH_MISSING_ICEORYX
#define COIPC_BENCH_MISSING_ICEORYX "iceoryx was not looked for"
#endif

namespace bench {

const std::vector<known_system>& known_systems() {
  static const std::vector<known_system> systems{
      {"coipc", ""},
      {"posix_mq", ""},
      {"uds", ""},
      {"pipe", ""},
      {"boost_mq", COIPC_BENCH_HAVE_BOOST_MQ ? "" : COIPC_BENCH_MISSING_BOOST_MQ},
      {"zmq", COIPC_BENCH_HAVE_ZMQ ? "" : COIPC_BENCH_MISSING_ZMQ},
      {"iceoryx", COIPC_BENCH_HAVE_ICEORYX ? "" : COIPC_BENCH_MISSING_ICEORYX},
  };
  return systems;
}

std::vector<std::string> built_system_names(const std::vector<known_system>& known) {
  std::vector<std::string> names;
  for (const auto& s : known)
    if (s.built()) names.push_back(s.name);
  return names;
}

std::vector<std::string> missing_system_names(const std::vector<known_system>& known) {
  std::vector<std::string> names;
  for (const auto& s : known)
    if (!s.built()) names.push_back(s.name);
  return names;
}

system_selection select_systems(std::string_view list, const std::vector<known_system>& known) {
  system_selection out;
  auto add = [&](std::string_view name) {
    if (std::find(out.names.begin(), out.names.end(), name) == out.names.end()) out.names.emplace_back(name);
  };
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view name = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (name == "all") {
      out.all = true;
      for (const auto& s : known)
        if (s.built()) add(s.name);
      continue;
    }
    const auto it = std::find_if(known.begin(), known.end(), [&](const known_system& s) { return s.name == name; });
    if (it == known.end()) {
      out.error = fmt::format("bad --system '{}': unknown system", name);
      return out;
    }
    if (!it->built()) {
      out.error = fmt::format("system '{}' is not built into this coipc-bench: {} when it was configured", name,
                              it->missing);
      return out;
    }
    add(name);
  }
  if (out.names.empty()) out.error = "--system needs a name";
  return out;
}

std::string not_built_line(const std::vector<known_system>& known) {
  std::string line;
  for (const auto& s : known) {
    if (s.built()) continue;
    line += line.empty() ? "not built: " : ", ";
    line += fmt::format("{} ({} at configure time)", s.name, s.missing);
  }
  return line;
}

}  // namespace bench
