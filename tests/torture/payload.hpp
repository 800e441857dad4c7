// coipc-torture: self-checking messages.
//
// Every message carries who sent it and where it stands in that sender's stream, so that a
// receiver can check it alone, without knowing what was sent:
//
//     [incarnation u64][seq u64][length u32][slot u32][checksum u64][pattern ...]
//
// `incarnation` is unique per sender process for the whole run (the supervisor hands it
// out), `seq` counts that process's published messages from 0, `length` is the whole
// message's size (so that a frame of the wrong length is caught), `slot` is the sender's
// slot id on the channel (bytes receivers compare it with the id the library reports), and
// the checksum covers every other byte. The pattern is derived from (incarnation, seq), so
// that two messages never carry the same bytes: a frame torn between two messages, or one
// message's header over another's body, fails the checksum.
//
// Incarnation 0 is the supervisor's end-of-run sentinel, sent once every sender is gone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace torture {

struct message_header {
  std::uint64_t incarnation;
  std::uint64_t seq;
  std::uint32_t length;
  std::uint32_t slot;
  std::uint64_t checksum;
};
static_assert(sizeof(message_header) == 32);

inline constexpr std::size_t header_size = sizeof(message_header);

/// The typed payload: a fixed-size message of two units' worth of header and pattern.
struct typed_message {
  message_header header;
  std::byte pattern[96];
};
static_assert(sizeof(typed_message) == 128);

/// FNV-1a over the message, the checksum field taken as zero.
inline std::uint64_t checksum_of(std::span<const std::byte> m) noexcept {
  std::uint64_t h = 14695981039346656037ull;
  const std::size_t sum_at = offsetof(message_header, checksum);
  for (std::size_t i = 0; i < m.size(); ++i) {
    const bool in_sum = i >= sum_at && i < sum_at + sizeof(std::uint64_t);
    const auto b = in_sum ? 0u : static_cast<unsigned>(m[i]);
    h = (h ^ b) * 1099511628211ull;
  }
  return h;
}

/// Writes a whole message of `out.size()` (>= header_size) bytes.
inline void fill_message(std::span<std::byte> out, std::uint64_t incarnation, std::uint64_t seq,
                         std::uint32_t slot) noexcept {
  message_header h{incarnation, seq, static_cast<std::uint32_t>(out.size()), slot, 0};
  std::memcpy(out.data(), &h, header_size);
  // xorshift64 seeded by (incarnation, seq): cheap and different for every message.
  std::uint64_t x = (incarnation * 0x9E3779B97F4A7C15ull) ^ (seq + 0x632BE59BD9B4E019ull);
  for (std::size_t i = header_size; i < out.size(); ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<std::byte>(x);
  }
  h.checksum = checksum_of(out);
  std::memcpy(out.data() + offsetof(message_header, checksum), &h.checksum, sizeof h.checksum);
}

/// Reads the header of a message that is at least header_size long.
inline message_header header_of(std::span<const std::byte> m) noexcept {
  message_header h{};
  std::memcpy(&h, m.data(), header_size);
  return h;
}

/// Whether `m` is a whole, untouched message: long enough, its length field its real
/// length, and its checksum right.
inline bool intact(std::span<const std::byte> m) noexcept {
  if (m.size() < header_size) return false;
  const message_header h = header_of(m);
  return h.length == m.size() && h.checksum == checksum_of(m);
}

}  // namespace torture
