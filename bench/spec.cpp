#include "spec.hpp"

#include <fmt/format.h>

namespace bench {

std::string case_spec::topology() const {
  if (pattern == pattern::pingpong) return "1<->1";
  return fmt::format("{}->{}", senders, receivers);
}

std::string format_size(std::uint64_t b) {
  if (b >= (1u << 20) && b % (1u << 20) == 0) return fmt::format("{} MiB", b >> 20);
  if (b >= 1024 && b % 1024 == 0) return fmt::format("{} KiB", b >> 10);
  return fmt::format("{} B", b);
}

std::string case_spec::size_label() const {
  if (fixed_size()) return format_size(size_min);
  return fmt::format("{}-{} B", size_min, size_max);
}

}  // namespace bench
