#include "matrix.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace bench {

std::uint64_t default_messages(pattern p, std::uint32_t size_max, bool quick) {
  const std::uint64_t base = p == pattern::pingpong ? (quick ? 1'000 : 20'000) : (quick ? 10'000 : 100'000);
  // Large messages: bound the bytes a sender sends, so 1 MiB cases take seconds, not minutes.
  const std::uint64_t cap = quick ? (16u << 20) : (1u << 30);
  return std::clamp<std::uint64_t>(cap / size_max, 16, base);
}

std::uint64_t max_timed_messages(pattern p) {
  return p == pattern::pingpong ? std::uint64_t{1} << 24 : std::uint64_t{1} << 32;
}

std::uint64_t first_calibration_messages(pattern p, std::uint32_t size_max) {
  return std::min(default_messages(p, size_max, true), max_timed_messages(p));
}

std::uint64_t count_for(pattern p, std::uint64_t messages, double ran_s, double seconds, double margin) {
  const double per_message = ran_s > 0 ? ran_s / static_cast<double>(messages) : 1e-9;
  const double want = std::round(seconds * margin / per_message);
  if (!(want < static_cast<double>(max_timed_messages(p)))) return max_timed_messages(p);  // NaN too
  return std::max(min_timed_messages, static_cast<std::uint64_t>(want));
}

std::uint64_t next_calibration(pattern p, std::uint64_t messages, double ran_s, double target_s) {
  if (ran_s >= calibration_enough * target_s || messages >= max_timed_messages(p)) return 0;
  const std::uint64_t next = count_for(p, messages, ran_s, 2 * calibration_enough * target_s, 1.0);
  return std::clamp(next, messages + 1, messages * 1000);
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
            c.api = o.apis.front();
            c.wait = w;
            c.messages = o.messages ? *o.messages : time_based(o) ? 0 : default_messages(p, s.second, o.quick);
            out.push_back(c);
          }
        }
      }
    }
  }
  return out;
}

}  // namespace bench
