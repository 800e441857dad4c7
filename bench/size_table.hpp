// coipc-bench: the size of each message of a case.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace bench {

/// The size of every message, known to senders and receivers alike: message `seq` of
/// sender `s` has size sizes.at(s, seq). Random sizes come from a fixed seed (runs are
/// repeatable) through a power-of-two table, so looking one up costs a mask and a load.
class size_table {
 public:
  size_table() = default;
  size_table(std::uint32_t min, std::uint32_t max) : min_(min), fixed_(min == max) {
    if (fixed_) return;
    table_.resize(table_size);
    std::uint64_t x = 0x2545F4914F6CDD1Dull;
    const std::uint64_t span = std::uint64_t{max} - min + 1;
    for (auto& v : table_) {
      x ^= x >> 12;  // xorshift64*
      x ^= x << 25;
      x ^= x >> 27;
      v = min + static_cast<std::uint32_t>(((x * 0x2545F4914F6CDD1Dull) >> 32) % span);
    }
  }
  std::uint32_t at(std::uint32_t sender, std::uint64_t seq) const noexcept {
    if (fixed_) return min_;
    return table_[(seq + std::uint64_t{sender} * 7919) & (table_size - 1)];
  }
  /// Bytes sender `s` sends in `messages` messages.
  std::uint64_t bytes_of(std::uint32_t sender, std::uint64_t messages) const noexcept {
    if (fixed_) return std::uint64_t{min_} * messages;
    std::uint64_t total = 0;
    for (std::uint64_t i = 0; i < messages; ++i) total += at(sender, i);
    return total;
  }

 private:
  static constexpr std::size_t table_size = 16384;
  std::uint32_t min_ = 0;
  bool fixed_ = true;
  std::vector<std::uint32_t> table_;
};

}  // namespace bench
