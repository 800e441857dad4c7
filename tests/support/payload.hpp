// The self-checking message that the tests, coipc-torture and coipc-bench all send, so
// that a receiver can check every message it gets, alone, without knowing what was sent.
//
// A message is a prefix of this, as long as the message (little-endian):
//
//     [tag u64][id u64][seq u64][length u32][slot u32][checksum u64][pattern ...]
//      0        8       16       24          28        32             40
//
// `id` says who sent it (a sender's slot id, or a torture sender process's incarnation,
// unique for the whole run), `seq` where it stands in that sender's stream, `length` is the
// whole message's size (so that a frame of the wrong length is caught), `slot` is the
// sender's slot id on the channel (receivers compare it with the id the library reports),
// and the checksum (FNV-1a) covers every other byte. The pattern is derived from (id, seq),
// so that two messages never carry the same bytes: a frame torn between two messages, or
// one message's header over another's body, fails the checksum.
//
// The tag is the same facts in one word, check byte (8 bits) | id (16) | seq (40), the
// check byte mixing id, seq and length: the part of the message that is cheap to write.
// Two ways to make a message, then:
//
//   - fill(): the whole message. Checked alone by intact() (at least header_size bytes),
//     or, by a receiver that knows the sender and sequence number, by matches(), which
//     takes any size down to 0: a message shorter than the header is that header's first
//     bytes, still different for every (id, seq) from 1 byte on (the tag's low bytes are
//     seq), so that tests can cover tiny and empty frames with the same scheme.
//   - stamp(): the tag alone, and the message's last byte repeats the check byte (so a
//     truncated or padded message fails too); the rest is left as the buffer held it.
//     This is coipc-bench's: producing a message then costs two stores whatever its size
//     (copying it still grows with the size, where a system copies), and checking it a few
//     compares, so the benchmark measures the transport and not the payload. Checked by
//     stamped() (at least tag_size bytes).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace coipc_payload {

struct header {
  std::uint64_t tag;
  std::uint64_t id;
  std::uint64_t seq;
  std::uint32_t length;
  std::uint32_t slot;
  std::uint64_t checksum;
};
static_assert(sizeof(header) == 40);

inline constexpr std::size_t header_size = sizeof(header);
inline constexpr std::size_t tag_size = sizeof(std::uint64_t);
/// The tag keeps the low 40 bits of seq (and the low 16 of id).
inline constexpr std::uint64_t seq_mask = (std::uint64_t{1} << 40) - 1;

// ---- the tag ------------------------------------------------------------------------------

inline std::uint8_t check_byte(std::uint64_t id, std::uint64_t seq, std::size_t length) noexcept {
  std::uint64_t x = (seq * 0x9E3779B97F4A7C15ull) ^ (id << 48) ^ length;
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ull;
  return static_cast<std::uint8_t>(x >> 56);
}

inline std::uint64_t tag_word(std::uint64_t id, std::uint64_t seq, std::size_t length) noexcept {
  return (std::uint64_t{check_byte(id, seq, length)} << 56) | ((id & 0xffff) << 40) | (seq & seq_mask);
}

/// A tag as read back: id and seq as far as the tag keeps them.
struct tag {
  std::uint32_t id;
  std::uint64_t seq;
  std::uint8_t check;
};

inline tag read_tag(const std::byte* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, tag_size);
  return {static_cast<std::uint32_t>((w >> 40) & 0xffff), w & seq_mask, static_cast<std::uint8_t>(w >> 56)};
}

/// Writes the tag of message `seq` from `id` into `p` (size >= tag_size bytes), and the check
/// byte into its last byte.
inline void stamp(std::byte* p, std::size_t size, std::uint64_t id, std::uint64_t seq) noexcept {
  const std::uint64_t w = tag_word(id, seq, size);
  std::memcpy(p, &w, tag_size);
  if (size > tag_size) p[size - 1] = static_cast<std::byte>(w >> 56);
}

/// Whether a stamped message of `size` bytes agrees with its tag `t` (read_tag(p)).
inline bool stamped(const std::byte* p, std::size_t size, const tag& t) noexcept {
  if (t.check != check_byte(t.id, t.seq, size)) return false;
  return size <= tag_size || p[size - 1] == std::byte{t.check};
}

// ---- the whole message --------------------------------------------------------------------

/// The pattern's bytes in order: xorshift64 seeded by (id, seq), cheap and different for
/// every message.
class pattern {
 public:
  pattern(std::uint64_t id, std::uint64_t seq) noexcept
      : x_((id * 0x9E3779B97F4A7C15ull) ^ (seq + 0x632BE59BD9B4E019ull)) {}
  std::byte next() noexcept {
    x_ ^= x_ << 13;
    x_ ^= x_ >> 7;
    x_ ^= x_ << 17;
    return static_cast<std::byte>(x_);
  }

 private:
  std::uint64_t x_;
};

/// FNV-1a over the message, the checksum field taken as zero.
inline std::uint64_t checksum_of(std::span<const std::byte> m) noexcept {
  std::uint64_t h = 14695981039346656037ull;
  const std::size_t sum_at = offsetof(header, checksum);
  for (std::size_t i = 0; i < m.size(); ++i) {
    const bool in_sum = i >= sum_at && i < sum_at + sizeof(std::uint64_t);
    const auto b = in_sum ? 0u : static_cast<unsigned>(m[i]);
    h = (h ^ b) * 1099511628211ull;
  }
  return h;
}

/// The header of a message of `length` bytes, checksum not yet computed.
inline header header_for(std::uint64_t id, std::uint64_t seq, std::size_t length, std::uint32_t slot) noexcept {
  return {tag_word(id, seq, length), id, seq, static_cast<std::uint32_t>(length), slot, 0};
}

/// Writes message `seq` from `id` (slot `slot`), `out.size()` bytes: any size, see above.
inline void fill(std::span<std::byte> out, std::uint64_t id, std::uint64_t seq, std::uint32_t slot) noexcept {
  header h = header_for(id, seq, out.size(), slot);
  if (out.size() < header_size) {
    if (!out.empty()) std::memcpy(out.data(), &h, out.size());
    return;
  }
  std::memcpy(out.data(), &h, header_size);
  pattern p(id, seq);
  for (std::size_t i = header_size; i < out.size(); ++i) out[i] = p.next();
  h.checksum = checksum_of(out);
  std::memcpy(out.data() + offsetof(header, checksum), &h.checksum, sizeof h.checksum);
}

/// Reads the header of a message that is at least header_size long.
inline header header_of(std::span<const std::byte> m) noexcept {
  header h{};
  std::memcpy(&h, m.data(), header_size);
  return h;
}

/// Whether `m` is a whole, untouched message: long enough, its length field its real
/// length, its tag agreeing with the header, and its checksum right.
inline bool intact(std::span<const std::byte> m) noexcept {
  if (m.size() < header_size) return false;
  const header h = header_of(m);
  return h.length == m.size() && h.tag == tag_word(h.id, h.seq, m.size()) && h.checksum == checksum_of(m);
}

/// Whether `m` is exactly what fill(m-sized buffer, id, seq, slot) writes: any size.
inline bool matches(std::span<const std::byte> m, std::uint64_t id, std::uint64_t seq, std::uint32_t slot) noexcept {
  const header want = header_for(id, seq, m.size(), slot);
  if (m.size() < header_size) return m.empty() || std::memcmp(m.data(), &want, m.size()) == 0;
  if (std::memcmp(m.data(), &want, offsetof(header, checksum)) != 0) return false;
  pattern p(id, seq);
  for (std::size_t i = header_size; i < m.size(); ++i) {
    if (m[i] != p.next()) return false;
  }
  return header_of(m).checksum == checksum_of(m);
}

}  // namespace coipc_payload
