// Test support: deterministic message contents, so that a receiver can check every byte of
// every message it gets, per sender, without a header in the payload (sizes go down to 0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace coipc_test {

/// The size of a sender's message number `seq`: mostly small (the reference workload's
/// 9..256 B), every 97th large, and exactly 0 and `max` regularly.
inline std::size_t message_size(std::uint32_t seq, std::size_t max) {
  if (seq % 101 == 0) return 0;
  if (seq % 103 == 0) return max;
  if (seq % 97 == 0) return (std::size_t{seq} * 7919u) % (max + 1);
  return 9 + (std::size_t{seq} * 2654435761u >> 7) % 248;
}

inline std::byte message_byte(std::uint32_t sender, std::uint32_t seq, std::size_t i) {
  return static_cast<std::byte>((seq * 131u + i * 7u + sender * 31u + (i >> 8)) & 0xff);
}

inline void fill_message(std::span<std::byte> out, std::uint32_t sender, std::uint32_t seq) {
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = message_byte(sender, seq, i);
}

inline bool check_message(std::span<const std::byte> in, std::uint32_t sender, std::uint32_t seq,
                          std::size_t max) {
  if (in.size() != message_size(seq, max)) return false;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != message_byte(sender, seq, i)) return false;
  }
  return true;
}

}  // namespace coipc_test
