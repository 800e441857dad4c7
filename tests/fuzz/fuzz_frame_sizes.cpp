// Fuzz target: the frame-length and unit arithmetic, through the public API. The input is
// a sequence of message lengths (two bytes each, 0..max and beyond) sent by two senders
// (copying and zero copy, committing fewer bytes than loaned) through a small ring that
// wraps often (padding frames), under both policies. Every message must arrive whole and
// in order under block, lengths past the maximum must be refused, and nothing may crash.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

import coipc;

namespace {
void fill(std::span<std::byte> out, std::uint32_t seed) {
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::byte>((seed * 31 + i * 7) & 0xff);
}
bool check(std::span<const std::byte> got, std::size_t length, std::uint32_t seed) {
  if (got.size() != length) return false;
  for (std::size_t i = 0; i < length; ++i) {
    if (got[i] != static_cast<std::byte>((seed * 31 + i * 7) & 0xff)) return false;
  }
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static int round = 0;
  if (size < 1) return 0;
  const std::string name = "fuzz.sizes." + std::to_string(::getpid()) + "." + std::to_string(++round);
  constexpr std::size_t max = 1024;
  coipc::channel_options o;
  o.capacity = 4096;  // 64 units: a 1 KiB message is 16 of them, so the ring wraps often
  o.max_message_size = max;
  o.max_receivers = 2;
  o.max_senders = 2;
  const bool overwrite = data[0] & 1;
  o.overflow = overwrite ? coipc::overflow_policy::overwrite : coipc::overflow_policy::block;
  std::error_code ec;
  {
    coipc::channel<coipc::bytes> tx(name, coipc::role::sender, o, ec);
    coipc::channel<coipc::bytes> tx2(name, coipc::role::sender, o, ec);
    coipc::channel<coipc::bytes> rx(name, coipc::role::receiver, o, ec);
    if (ec) std::abort();
    std::vector<std::byte> buf(max + 64);
    std::uint32_t seed = 0;
    for (std::size_t i = 1; i + 1 < size; i += 2) {
      const std::size_t length = (std::size_t{data[i]} | std::size_t{data[i + 1]} << 8) % (max + 64);
      ++seed;
      bool sent = false;
      if (length > max) {
        // Refused, nothing sent.
        if (tx.try_send(std::span<const std::byte>(buf.data(), length), ec) || ec != coipc::errc::message_too_large) std::abort();
        continue;
      }
      if (seed % 3 == 0) {
        auto l = tx2.loan(std::min(max, length + 10), ec);  // loan more, commit `length`
        if (!ec) {
          fill(l.data().first(length), seed);
          l.commit(length);
          sent = true;
        }
      } else {
        fill(std::span<std::byte>(buf.data(), length), seed);
        sent = tx.try_send(std::span<const std::byte>(buf.data(), length), ec);
      }
      if (!sent) continue;  // ring full (block): nothing sent, nothing expected
      auto m = rx.try_recv(ec);
      if (!overwrite) {
        // Under block the receiver keeps up (one out, one in): each message arrives whole.
        if (!m || !check(m->data, length, seed)) std::abort();
      } else if (m && m->data.size() > max) {
        std::abort();
      }
    }
  }
  coipc::remove_segment(name, ec);
  return 0;
}
