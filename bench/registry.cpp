#include "registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "system.hpp"

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
      {"coipc", make_coipc, ""},
      {"posix_mq", make_posix_mq, ""},
      {"uds", make_uds, ""},
      {"pipe", make_pipe, ""},
#if COIPC_BENCH_HAVE_BOOST_MQ
      {"boost_mq", make_boost_mq, ""},
#else
      {"boost_mq", nullptr, COIPC_BENCH_MISSING_BOOST_MQ},
#endif
#if COIPC_BENCH_HAVE_ZMQ
      {"zmq", make_zmq, ""},
#else
      {"zmq", nullptr, COIPC_BENCH_MISSING_ZMQ},
#endif
#if COIPC_BENCH_HAVE_ICEORYX
      {"iceoryx", make_iceoryx, ""},
#else
      {"iceoryx", nullptr, COIPC_BENCH_MISSING_ICEORYX},
#endif
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

std::unique_ptr<ipc_system> make_system(std::string_view name) {
  for (const auto& s : known_systems())
    if (s.name == name && s.built()) return s.make();
  throw std::logic_error(fmt::format("make_system: '{}' is not a system of this build", name));
}

}  // namespace bench
