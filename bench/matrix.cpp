#include "matrix.hpp"

#include <algorithm>
#include <utility>

namespace bench {

std::uint64_t default_messages(pattern p, std::uint32_t size_max, bool quick) {
  const std::uint64_t base = p == pattern::pingpong ? (quick ? 1'000 : 20'000) : (quick ? 10'000 : 100'000);
  // Large messages: bound the bytes a sender sends, so 1 MiB cases take seconds, not minutes.
  const std::uint64_t cap = quick ? (16u << 20) : (1u << 30);
  return std::clamp<std::uint64_t>(cap / size_max, 16, base);
}

std::vector<case_spec> build_matrix(const options& o) {
  using topo = std::pair<std::uint32_t, std::uint32_t>;
  using range = std::pair<std::uint32_t, std::uint32_t>;
  const range small{9, 256};
  const std::uint32_t n = o.senders.value_or(2), m = o.receivers.value_or(2);
  const bool explicit_topology = o.senders || o.receivers;

  std::vector<pattern> patterns{pattern::route, pattern::channel, pattern::pingpong};
  if (o.pattern) patterns = {*o.pattern};

  std::vector<case_spec> out;
  for (pattern p : patterns) {
    std::vector<topo> topologies;
    switch (p) {
      case pattern::route: topologies = explicit_topology ? std::vector<topo>{{1, m}} : std::vector<topo>{{1, 1}, {1, m}}; break;
      case pattern::channel: topologies = explicit_topology ? std::vector<topo>{{n, m}} : std::vector<topo>{{n, 1}, {n, m}}; break;
      case pattern::pingpong: topologies = {{1, 1}}; break;
    }
    topologies.erase(std::unique(topologies.begin(), topologies.end()), topologies.end());
    for (const topo& t : topologies) {
      std::vector<range> sizes{small};
      if (o.size) sizes = {*o.size};
      else if (p == pattern::route && t == topo{1, 1})
        sizes.insert(sizes.end(), {{8, 8}, {4096, 4096}, {65536, 65536}, {1u << 20, 1u << 20}});
      for (const range& s : sizes) {
        std::vector<run_mode> modes{run_mode::process};
        if (o.mode) modes = {*o.mode};
        else if (s == small) modes.push_back(run_mode::thread);
        for (run_mode mode : modes) {
          std::vector<wait_kind> waits{wait_kind::park};
          if (p == pattern::pingpong) waits = o.wait ? std::vector<wait_kind>{*o.wait} : std::vector<wait_kind>{wait_kind::spin, wait_kind::park};
          for (wait_kind w : waits) {
            case_spec c;
            c.pattern = p;
            c.senders = t.first;
            c.receivers = t.second;
            c.size_min = s.first;
            c.size_max = s.second;
            c.mode = mode;
            c.api = o.api;
            c.wait = w;
            c.messages = o.messages ? *o.messages : default_messages(p, s.second, o.quick);
            out.push_back(c);
          }
        }
      }
    }
  }
  return out;
}

}  // namespace bench
