// The parties' loops, one template each, instantiated by every system with its own
// sender and receiver types so the hot path has no virtual call and no allocation.
//
// A Tx has   void send(std::uint32_t size, std::uint32_t sender, std::uint64_t seq)
//            (writes a message of `size` bytes stamped with sender/seq, blocking while full)
// An Rx has  std::size_t recv(F on_message)      (blocks for at least one message)
//            std::size_t try_recv(F on_message)  (returns 0 when there is none)
//            calling on_message(const std::byte*, std::size_t) for each message it got.
// Either may have  void report(party_slot&)  to add figures of its own (futex counts).
#pragma once
#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "harness.hpp"
#include "support/payload.hpp"

namespace bench {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/// Checks each received message against what its sender must have sent: sender in range,
/// next sequence number of that sender (a gap counts as lost), size and check bytes.
class verifier {
 public:
  verifier(std::uint32_t senders, const size_table& sizes) : next_(senders, 0), sizes_(&sizes) {}

  /// The hot path: a few compares per message; anything wrong goes to bad(), out of line.
  void check(const std::byte* p, std::size_t n) noexcept {
    if (n < coipc_payload::tag_size) [[unlikely]] return bad(p, n, fault::runt);
    const coipc_payload::tag h = coipc_payload::read_tag(p);
    if (h.id >= next_.size()) [[unlikely]] return bad(p, n, fault::sender);
    std::uint64_t& next = next_[h.id];
    if (h.seq != next) [[unlikely]] {
      if (h.seq < next) return bad(p, n, fault::repeat, next);
      lost_ += h.seq - next;
    }
    next = h.seq + 1;
    if (n != sizes_->at(h.id, h.seq) || !coipc_payload::stamped(p, n, h)) [[unlikely]] return bad(p, n, fault::content);
    ++ok_;
  }

  void report(party_slot& s) const noexcept {
    s.received = ok_;
    s.lost = lost_;
    s.errors = errors_;
  }
  std::uint64_t errors() const noexcept { return errors_; }
  const std::string& first_error() const noexcept { return first_error_; }

 private:
  enum class fault { runt, sender, repeat, content };
  /// Counts a bad message and describes the first one.
  [[gnu::cold, gnu::noinline]] void bad(const std::byte* p, std::size_t n, fault f, std::uint64_t next = 0) noexcept {
    if (errors_++ != 0) return;
    const coipc_payload::tag h = n >= coipc_payload::tag_size ? coipc_payload::read_tag(p) : coipc_payload::tag{};
    switch (f) {
      case fault::runt: first_error_ = fmt::format("message of {} bytes", n); break;
      case fault::sender: first_error_ = fmt::format("unknown sender {}", h.id); break;
      case fault::repeat:
        first_error_ = fmt::format("sender {}: message {} again after {}", h.id, h.seq, next - 1);
        break;
      case fault::content:
        if (n != sizes_->at(h.id, h.seq))
          first_error_ = fmt::format("sender {} message {}: {} bytes, sent {}", h.id, h.seq, n,
                                     sizes_->at(h.id, h.seq));
        else
          first_error_ = fmt::format("sender {} message {}: check byte differs", h.id, h.seq);
        break;
    }
  }

  std::vector<std::uint64_t> next_;
  const size_table* sizes_;
  std::uint64_t ok_ = 0, lost_ = 0, errors_ = 0;
  std::string first_error_;
};

template <class E>
void add_report(E& e, party_slot& s) {
  if constexpr (requires { e.report(s); }) e.report(s);
}

template <class Tx>
void sender_loop(party& p, Tx& tx) {
  const std::uint32_t id = p.index;
  const std::uint64_t k = p.spec->messages;
  const size_table& sizes = *p.sizes;
  p.ready();
  p.wait_go();
  p.slot().first_send_ns = now_ns();
  for (std::uint64_t i = 0; i < k; ++i) tx.send(sizes.at(id, i), id, i);
  add_report(tx, p.slot());
  p.finish();
}

template <class Rx>
void receiver_loop(party& p, Rx& rx) {
  verifier v(p.spec->senders, *p.sizes);
  const std::uint64_t total = std::uint64_t{p.spec->senders} * p.spec->messages;
  auto& slot = p.slot();
  p.ready();
  std::uint64_t got = 0, next_progress = 4096;
  auto on_message = [&](const std::byte* d, std::size_t n) { v.check(d, n); };
  while (got < total) {
    got += rx.recv(on_message);
    if (got >= next_progress) [[unlikely]] {
      slot.progress.store(got, std::memory_order_relaxed);  // relaxed: a display figure
      next_progress = got + 4096;
    }
  }
  slot.last_recv_ns = now_ns();
  slot.progress.store(got, std::memory_order_relaxed);
  v.report(slot);
  add_report(rx, slot);
  if (v.errors()) p.fail(fmt::format("receiver {}: {} bad messages; first: {}", p.index, v.errors(), v.first_error()));
  p.finish();
}

template <class Rx, class F>
std::size_t receive_one(Rx& rx, wait_kind w, F&& on_message) {
  if (w == wait_kind::park) return rx.recv(on_message);
  for (;;) {
    if (std::size_t n = rx.try_recv(on_message)) return n;
    cpu_relax();
  }
}

/// Records one-way latency (RTT / 2) percentiles of the round trips `rtt` (sorts it).
inline void record_latency(party_slot& slot, std::vector<std::int64_t>& rtt) {
  const std::size_t k = rtt.size();
  if (k == 0) return;
  std::sort(rtt.begin(), rtt.end());
  auto pct = [&](double q) {
    const std::size_t i = std::min<std::size_t>(k - 1, static_cast<std::size_t>(q * static_cast<double>(k)));
    return static_cast<double>(rtt[i]) / 2;
  };
  double sum = 0;
  for (auto r : rtt) sum += static_cast<double>(r);
  slot.has_latency = true;
  slot.lat_p50 = pct(0.50);
  slot.lat_p99 = pct(0.99);
  slot.lat_p999 = pct(0.999);
  slot.lat_max = static_cast<double>(rtt.back()) / 2;
  slot.lat_mean = sum / static_cast<double>(k) / 2;
}

/// Ping: sends message i (sender 0) and waits for pong's answer (sender 1, same sequence
/// number and size), timing each round trip. One-way latency is half of it.
template <class Tx, class Rx>
void ping_loop(party& p, Tx& tx, Rx& rx) {
  const std::uint64_t k = p.spec->messages;
  const size_table& sizes = *p.sizes;
  const wait_kind w = p.spec->wait;
  std::vector<std::int64_t> rtt(k);
  std::uint64_t errors = 0;
  std::string first_error;
  auto& slot = p.slot();
  p.ready();
  p.wait_go();
  slot.first_send_ns = now_ns();
  for (std::uint64_t i = 0; i < k; ++i) {
    const std::uint32_t size = sizes.at(0, i);
    const std::int64_t t0 = now_ns();
    tx.send(size, 0, i);
    receive_one(rx, w, [&](const std::byte* d, std::size_t n) {
      const coipc_payload::tag h = n >= coipc_payload::tag_size ? coipc_payload::read_tag(d) : coipc_payload::tag{};
      if (n != size || h.id != 1 || h.seq != i || !coipc_payload::stamped(d, n, h)) {
        if (errors++ == 0) first_error = fmt::format("answer {} ({} bytes) is not what pong sent", i, n);
      }
    });
    rtt[i] = now_ns() - t0;
    if ((i & 1023) == 0) slot.progress.store(i, std::memory_order_relaxed);  // relaxed: display
  }
  slot.last_recv_ns = now_ns();
  slot.received = k - errors;
  slot.errors = errors;
  record_latency(slot, rtt);
  add_report(tx, slot);
  add_report(rx, slot);
  if (errors) p.fail(fmt::format("ping: {} bad answers; first: {}", errors, first_error));
  p.finish();
}

/// Pong: checks each message from ping and answers it with one of the same size.
template <class Rx, class Tx>
void pong_loop(party& p, Rx& rx, Tx& tx) {
  const std::uint64_t k = p.spec->messages;
  const size_table& sizes = *p.sizes;
  const wait_kind w = p.spec->wait;
  std::uint64_t errors = 0;
  std::string first_error;
  auto& slot = p.slot();
  p.ready();
  for (std::uint64_t i = 0; i < k; ++i) {
    const std::uint32_t size = sizes.at(0, i);
    receive_one(rx, w, [&](const std::byte* d, std::size_t n) {
      const coipc_payload::tag h = n >= coipc_payload::tag_size ? coipc_payload::read_tag(d) : coipc_payload::tag{};
      if (n != size || h.id != 0 || h.seq != i || !coipc_payload::stamped(d, n, h)) {
        if (errors++ == 0) first_error = fmt::format("message {} ({} bytes) is not what ping sent", i, n);
      }
    });
    tx.send(size, 1, i);
  }
  slot.received = k - errors;
  slot.errors = errors;
  add_report(tx, slot);
  add_report(rx, slot);
  if (errors) p.fail(fmt::format("pong: {} bad messages; first: {}", errors, first_error));
  p.finish();
}

}  // namespace bench

namespace bench {

/// Runs party `p` over links made by `make_tx(link, sender_index)` and
/// `make_rx(link, receiver_index)`. Link 0 carries the case's messages (pingpong: ping to
/// pong), link 1 pong's answers. Receive ends are opened before send ends, so a sender
/// that waits for its receivers to connect never waits on its own party.
template <class MakeTx, class MakeRx>
void run_roles(party& p, MakeTx&& make_tx, MakeRx&& make_rx) {
  switch (p.role) {
    case party_role::sender: {
      auto tx = make_tx(0, p.index);
      sender_loop(p, tx);
      break;
    }
    case party_role::receiver: {
      auto rx = make_rx(0, p.index);
      receiver_loop(p, rx);
      break;
    }
    case party_role::ping: {
      auto rx = make_rx(1, 0);
      auto tx = make_tx(0, 0);
      ping_loop(p, tx, rx);
      break;
    }
    case party_role::pong: {
      auto rx = make_rx(0, 0);
      auto tx = make_tx(1, 0);
      pong_loop(p, rx, tx);
      break;
    }
  }
}

/// Senders and receivers of link `link` (0 or 1) of a case.
inline std::uint32_t link_senders(const case_spec& c, int link) {
  return c.pattern == pattern::pingpong || link ? 1 : c.senders;
}
inline std::uint32_t link_receivers(const case_spec& c, int link) {
  return c.pattern == pattern::pingpong || link ? 1 : c.receivers;
}
inline int link_count(const case_spec& c) { return c.pattern == pattern::pingpong ? 2 : 1; }
/// Whether receivers busy-poll (pingpong, --wait spin).
inline bool spinning(const case_spec& c) { return c.pattern == pattern::pingpong && c.wait == wait_kind::spin; }

}  // namespace bench
