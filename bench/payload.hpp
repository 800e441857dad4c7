// What every benchmark message carries, and how receivers check it.
//
// Bytes [0, 8) hold one little-endian word: check byte (8 bits) | sender (16) | sequence
// number (40). When the message is longer than 8 bytes its last byte repeats the check
// byte, so a truncated or padded message fails too. The check byte mixes sender, sequence
// number and size, so a message delivered to the wrong place or with the wrong length is
// caught even when its header survived. Only these bytes are written per message: the rest
// of a sender's buffer is filled once, so the cost of producing a message does not grow
// with its size for any system (copying it still does, where a system copies).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "spec.hpp"

namespace bench {

inline constexpr std::uint32_t min_message_size = 8;
inline constexpr std::uint64_t seq_mask = (std::uint64_t{1} << 40) - 1;

inline std::uint8_t check_byte(std::uint32_t sender, std::uint64_t seq, std::size_t size) noexcept {
  std::uint64_t x = (seq * 0x9E3779B97F4A7C15ull) ^ (std::uint64_t{sender} << 48) ^ size;
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ull;
  return static_cast<std::uint8_t>(x >> 56);
}

/// Writes the header and check byte of message `seq` from `sender` into `p` (size bytes).
inline void stamp(std::byte* p, std::size_t size, std::uint32_t sender, std::uint64_t seq) noexcept {
  const std::uint8_t c = check_byte(sender, seq, size);
  const std::uint64_t w = (std::uint64_t{c} << 56) | (std::uint64_t{sender & 0xffff} << 40) | (seq & seq_mask);
  std::memcpy(p, &w, 8);
  if (size > 8) p[size - 1] = std::byte{c};
}

struct header {
  std::uint32_t sender;
  std::uint64_t seq;
  std::uint8_t check;
};

inline header read_header(const std::byte* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return {static_cast<std::uint32_t>((w >> 40) & 0xffff), w & seq_mask, static_cast<std::uint8_t>(w >> 56)};
}

/// Whether the check bytes of a message of `size` bytes agree with its header.
inline bool intact(const std::byte* p, std::size_t size, const header& h) noexcept {
  if (h.check != check_byte(h.sender, h.seq, size)) return false;
  return size <= 8 || p[size - 1] == std::byte{h.check};
}

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
