// coipc-bench's coroutine mode: each party runs an io_context of its own (one thread) and
// co_awaits module coipc.asio's recv and send, as an Asio service would. Messages are
// copied (send from a buffer, recv into a coipc::message) where the blocking mode uses
// loan/view in place: the coroutine API has no zero-copy form, so this is what its users get.
#include <asio.hpp>
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "../loops.hpp"
#include "coipc_coroutine.hpp"
#include "coipc_options.hpp"
import coipc;
import coipc.asio;

namespace bench {
namespace {

template <class Ch>
void wait_receivers(Ch& ch, std::uint32_t n) {
  if (!ch.channel().wait_for_receivers(n, std::chrono::seconds(30)))
    throw std::runtime_error("coipc: receivers did not connect within 30 s");
}

template <class Ch>
void report_futex(Ch& ch, party_slot& s) {
  const auto st = ch.channel().stats();
  s.has_futex = true;
  s.futex_waits += st.futex_waits;
  s.futex_wakes += st.futex_wakes;
}

/// Runs `body` on a one-thread io_context until it finishes, rethrowing its exception.
template <class Body>
void run_on_io(asio::io_context& io, Body body) {
  std::exception_ptr error;
  asio::co_spawn(io, std::move(body), [&](std::exception_ptr e) { error = e; });
  io.run();
  if (error) std::rethrow_exception(error);
}

template <class Ch>
void sender(party& p, const case_spec& spec, const std::string& name) {
  asio::io_context io(1);
  Ch tx(io, name, coipc::role::sender, coipc_options(spec));
  p.slot().segment_bytes = segment_file_bytes(name);
  wait_receivers(tx, spec.receivers);
  const std::uint32_t id = p.index;
  std::vector<std::byte> buf(std::max<std::size_t>(spec.size_max, 64));
  p.ready();
  p.wait_go();
  p.slot().first_send_ns = now_ns();
  run_on_io(io, [&]() -> asio::awaitable<void> {
    for (std::uint64_t i = 0; i < spec.messages; ++i) {
      const std::uint32_t size = p.sizes->at(id, i);
      coipc_payload::stamp(buf.data(), size, id, i);
      co_await tx.send(std::span<const std::byte>(buf.data(), size));
    }
  });
  report_futex(tx, p.slot());
  p.finish();
}

template <class Ch>
void receiver(party& p, const case_spec& spec, const std::string& name) {
  asio::io_context io(1);
  Ch rx(io, name, coipc::role::receiver, coipc_options(spec));
  p.slot().segment_bytes = segment_file_bytes(name);
  verifier v(spec.senders, *p.sizes);
  const std::uint64_t total = std::uint64_t{spec.senders} * spec.messages;
  auto& slot = p.slot();
  p.ready();
  run_on_io(io, [&]() -> asio::awaitable<void> {
    for (std::uint64_t got = 0; got < total;) {
      coipc::message m = co_await rx.recv();
      v.check(m.data.data(), m.data.size());
      if ((++got & 4095) == 0) slot.progress.store(got, std::memory_order_relaxed);  // relaxed: display
    }
  });
  slot.last_recv_ns = now_ns();
  slot.progress.store(total, std::memory_order_relaxed);  // relaxed: display
  v.report(slot);
  report_futex(rx, slot);
  if (v.errors()) p.fail(fmt::format("receiver {}: {} bad messages; first: {}", p.index, v.errors(), v.first_error()));
  p.finish();
}

/// Ping (`ping` true) or pong over two routes: a carries ping's messages, b the answers.
void pingpong(party& p, const case_spec& spec, const std::string& a, const std::string& b, bool ping) {
  using route = coipc::async_route<coipc::bytes>;
  asio::io_context io(1);
  route rx(io, ping ? b : a, coipc::role::receiver, coipc_options(spec));
  route tx(io, ping ? a : b, coipc::role::sender, coipc_options(spec));
  p.slot().segment_bytes = segment_file_bytes(a) + segment_file_bytes(b);
  wait_receivers(tx, 1);
  const std::uint64_t k = spec.messages;
  std::vector<std::byte> buf(std::max<std::size_t>(spec.size_max, 64));
  std::vector<std::int64_t> rtt(ping ? k : 0);
  std::uint64_t errors = 0;
  auto& slot = p.slot();
  p.ready();
  if (ping) {
    p.wait_go();
    slot.first_send_ns = now_ns();
  }
  run_on_io(io, [&]() -> asio::awaitable<void> {
    for (std::uint64_t i = 0; i < k; ++i) {
      const std::uint32_t size = p.sizes->at(0, i);
      const std::int64_t t0 = now_ns();
      if (ping) {
        coipc_payload::stamp(buf.data(), size, 0, i);
        co_await tx.send(std::span<const std::byte>(buf.data(), size));
      }
      coipc::message m = co_await rx.recv();
      const std::byte* d = m.data.data();
      const coipc_payload::tag h = m.data.size() >= coipc_payload::tag_size ? coipc_payload::read_tag(d) : coipc_payload::tag{};
      if (m.data.size() != size || h.id != (ping ? 1u : 0u) || h.seq != i || !coipc_payload::stamped(d, size, h)) ++errors;
      if (ping) {
        rtt[i] = now_ns() - t0;
      } else {
        coipc_payload::stamp(buf.data(), size, 1, i);
        co_await tx.send(std::span<const std::byte>(buf.data(), size));
      }
    }
  });
  slot.received = k - errors;
  slot.errors = errors;
  if (ping) {
    slot.last_recv_ns = now_ns();
    record_latency(slot, rtt);
  }
  report_futex(tx, slot);
  report_futex(rx, slot);
  if (errors) p.fail(fmt::format("{}: {} bad messages", ping ? "ping" : "pong", errors));
  p.finish();
}

}  // namespace

void run_coroutine(party& p, const case_spec& spec, const std::string& channel_a, const std::string& channel_b) {
  const bool route = spec.pattern == pattern::route;
  switch (p.role) {
    case party_role::sender:
      return route ? sender<coipc::async_route<coipc::bytes>>(p, spec, channel_a)
                   : sender<coipc::async_channel<coipc::bytes>>(p, spec, channel_a);
    case party_role::receiver:
      return route ? receiver<coipc::async_route<coipc::bytes>>(p, spec, channel_a)
                   : receiver<coipc::async_channel<coipc::bytes>>(p, spec, channel_a);
    case party_role::ping: return pingpong(p, spec, channel_a, channel_b, true);
    case party_role::pong: return pingpong(p, spec, channel_a, channel_b, false);
  }
}

}  // namespace bench
