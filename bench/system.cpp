#include "system.hpp"

#include <algorithm>

namespace bench {

support ipc_system::check(const case_spec& spec) const {
  support s = check_case(spec);
  if (s.ok && !native_broadcast() && spec.pattern != pattern::pingpong && spec.receivers > 1)
    s.note += std::string(s.note.empty() ? "" : "; ") + "broadcast: one send per receiver";
  return s;
}

std::uint32_t queue_depth(std::uint32_t size_max) {
  constexpr std::uint64_t max_bytes = 32u << 20;
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(max_bytes / std::max<std::uint32_t>(size_max, 1), 1, 256));
}

}  // namespace bench
