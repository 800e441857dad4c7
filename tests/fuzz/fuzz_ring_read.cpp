// Fuzz target: reading a ring whose shared state is hostile. A valid channel is created
// (the header stays valid), then the fuzzer's bytes overwrite its control block, slots,
// frame entries and data; receivers then read through every path: recv, recv_into,
// try_view, typed views, under both overflow policies and for a typed and a bytes channel.
// Every call must return a frame or an error, never crash or read out of bounds (test
// builds put a guard region after each mapping).
//
// Input: byte 0 picks the variant (policy, payload type); the rest is laid over the body:
// pairs of (offset u16, length u8, bytes...) so that small inputs can hit any field.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <system_error>

#include <unistd.h>

import coipc;

namespace {
struct sample {
  std::uint64_t a, b, c;
};

template <class Channel>
void read_everything(Channel& rx) {
  std::error_code ec;
  for (int i = 0; i < 8; ++i) {
    rx.try_recv(ec);
    if (auto v = rx.try_view(ec)) {
      volatile std::size_t n = v.data().size();  // the bounded span
      for (std::byte b : v.data()) n = n + static_cast<std::size_t>(b);
      if constexpr (!Channel::is_bytes) {
        volatile auto copy = *v;  // sizeof(T) bytes: the typed path
        (void)copy;
      }
    }
  }
  if constexpr (Channel::is_bytes) {
    std::byte buf[2048];
    rx.try_recv_into(std::span<std::byte>(buf), ec);
  }
}

template <class Channel>
void run(const std::string& name, coipc::overflow_policy policy, const std::uint8_t* data,
         std::size_t size) {
  coipc::channel_options o;
  o.capacity = 4096;
  o.max_message_size = 1024;
  o.max_receivers = 4;
  o.max_senders = 2;
  o.overflow = policy;
  o.stall_timeout = std::chrono::milliseconds(1);
  std::error_code ec;
  Channel tx(name, coipc::role::sender, o, ec);
  Channel rx(name, coipc::role::receiver, o, ec);
  if (ec) return;
  if constexpr (Channel::is_bytes) {
    tx.try_send("before", ec);
  } else {
    tx.try_send(typename Channel::send_type{1, 2, 3}, ec);
  }
  auto seg = coipc::segment::inspect(name, ec);
  if (ec) return;
  std::span<std::byte> body = seg.body();
  // Lay the input over the body.
  std::size_t i = 0;
  while (i + 3 <= size) {
    const std::size_t offset = (std::size_t{data[i]} | std::size_t{data[i + 1]} << 8) % body.size();
    const std::size_t length = data[i + 2];
    i += 3;
    for (std::size_t k = 0; k < length && i < size && offset + k < body.size(); ++k, ++i) {
      body[offset + k] = static_cast<std::byte>(data[i]);
    }
  }
  read_everything(rx);
  // A sender on the same hostile state: errors or progress, never a crash; bounded by
  // its timeout.
  if constexpr (Channel::is_bytes) {
    tx.send_for("after", std::chrono::milliseconds(2), ec);
  } else {
    tx.send_for(typename Channel::send_type{4, 5, 6}, std::chrono::milliseconds(2), ec);
  }
  read_everything(rx);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static int round = 0;
  if (size < 1) return 0;
  const std::string name = "fuzz.ring." + std::to_string(::getpid()) + "." + std::to_string(++round);
  const auto policy = (data[0] & 1) ? coipc::overflow_policy::overwrite : coipc::overflow_policy::block;
  if (data[0] & 2) {
    run<coipc::channel<coipc::bytes>>(name, policy, data + 1, size - 1);
  } else {
    run<coipc::route<sample>>(name, policy, data + 1, size - 1);
  }
  std::error_code ec;
  coipc::remove_segment(name, ec);
  return 0;
}
