// Test support: deterministic message contents, so that a receiver can check every byte of
// every message it gets: per sender and sequence number, without a header in the payload
// (sizes go down to 0), or self-describing where the receiver cannot know what comes next.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
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

/// A message that describes itself, for a receiver that cannot know which message comes
/// next (senders killed and restarted at random): [seq u32][length u32][checksum u32], then
/// fill_message's bytes for sender 0.
inline constexpr std::size_t self_checked_header = 12;

inline void fill_self_checked(std::vector<std::byte>& buf, std::uint32_t seq, std::size_t size) {
  buf.resize(size < self_checked_header ? self_checked_header : size);
  std::uint32_t sum = 0;
  for (std::size_t i = self_checked_header; i < buf.size(); ++i) {
    buf[i] = message_byte(0, seq, i);
    sum = sum * 31 + static_cast<std::uint32_t>(buf[i]);
  }
  const auto length = static_cast<std::uint32_t>(buf.size());
  std::memcpy(buf.data(), &seq, 4);
  std::memcpy(buf.data() + 4, &length, 4);
  std::memcpy(buf.data() + 8, &sum, 4);
}

inline bool is_self_checked(std::span<const std::byte> m) {
  if (m.size() < self_checked_header) return false;
  std::uint32_t seq = 0, length = 0, sum = 0, got = 0;
  std::memcpy(&seq, m.data(), 4);
  std::memcpy(&length, m.data() + 4, 4);
  std::memcpy(&sum, m.data() + 8, 4);
  if (length != m.size()) return false;
  for (std::size_t i = self_checked_header; i < m.size(); ++i) {
    if (m[i] != message_byte(0, seq, i)) return false;
    got = got * 31 + static_cast<std::uint32_t>(m[i]);
  }
  return got == sum;
}

}  // namespace coipc_test
