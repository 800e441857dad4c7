// coipc-torture: a receiver party. Receives until the supervisor's end-of-run sentinel and
// checks every message as it comes (invariants.cpp), counting into its record; at the
// sentinel it makes the end checks against the senders' final records.
#include <asio.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

#include "invariants.hpp"
#include "party.hpp"
#include "report.hpp"

import coipc;
import coipc.asio;

#include "channel_setup.hpp"

namespace torture {

namespace {

template <class T>
constexpr bool is_bytes = std::is_same_v<T, coipc::bytes>;

struct receiver_context {
  const party_config& cfg;
  const report& rep;
  party_log& log;
};

std::uint64_t opened(receiver_context& r) {
  const std::uint64_t now = monotonic_ns();
  party_record& rec = r.log.record();
  rec.connected_ns.store(now, std::memory_order_relaxed);
  rec.state.store(static_cast<std::uint32_t>(party_state::connected), std::memory_order_release);
  return now;
}

// After each message: the library's loss count (overwrite) and progress.
void received(receiver_context& r, std::uint64_t lost) {
  r.log.record().lost.store(lost, std::memory_order_relaxed);
  r.log.progress(r.rep.header());
}

// ---- blocking API -------------------------------------------------------------------------

template <class T, coipc::detail::channel_kind K>
int blocking_receiver(receiver_context& r) {
  std::error_code ec;
  coipc::basic_channel<T, K> rx(r.cfg.channel, coipc::role::receiver, options_for(r.cfg.v), ec);
  r.log.count(invariant::no_errors);
  if (ec) {
    r.log.fail(invariant::no_errors, "open as receiver: " + coipc::last_error_message());
    return 3;
  }
  stream_checker check(r.log, r.rep, r.cfg.v.policy == policy_t::block, opened(r));
  std::mt19937_64 rng(r.cfg.seed);
  coipc::message m;
  std::vector<std::byte> copy(std::max(max_message, sizeof(typed_message)));
  for (bool more = true; more;) {
    if (rng() % 4 == 0) {
      // Zero copy: read in place. Under overwrite the view says afterwards whether what was
      // read is still whole; a torn read is not a message (the library counts it lost).
      auto v = rx.view(ec);
      if (ec) {
        r.log.fail(invariant::no_errors, "view: " + coipc::last_error_message());
        return 3;
      }
      const std::span<const std::byte> d = v.data();
      std::memcpy(copy.data(), d.data(), d.size());
      const bool whole = v.intact();
      const std::uint32_t slot = v.sender();
      v = coipc::view<T>{};  // release it before checking: under block the senders wait for it
      if (whole) more = check.on_message({copy.data(), d.size()}, slot);
    } else if constexpr (is_bytes<T>) {
      rx.recv(m, ec);
      if (ec) {
        r.log.fail(invariant::no_errors, "recv: " + coipc::last_error_message());
        return 3;
      }
      more = check.on_message(m.data, m.sender);
    } else {
      const T value = rx.recv(ec);
      if (ec) {
        r.log.fail(invariant::no_errors, "recv: " + coipc::last_error_message());
        return 3;
      }
      more = check.on_message(std::as_bytes(std::span(&value, 1)), 0);
    }
    received(r, rx.lost());
  }
  check.on_end(rx.lost());
  return 0;
}

// ---- coroutine API (coipc.asio) ---------------------------------------------------------

template <class T, coipc::detail::channel_kind K>
asio::awaitable<void> receive_loop(coipc::basic_async_channel<T, K>& rx, stream_checker& check,
                                   receiver_context& r) {
  for (bool more = true; more;) {
    auto value = co_await rx.recv();
    if constexpr (is_bytes<T>) {
      more = check.on_message(value.data, value.sender);
    } else {
      more = check.on_message(std::as_bytes(std::span(&value, 1)), 0);
    }
    received(r, rx.channel().lost());
  }
  check.on_end(rx.channel().lost());
}

template <class T, coipc::detail::channel_kind K>
int coroutine_receiver(receiver_context& r) {
  asio::io_context io;
  std::optional<coipc::basic_async_channel<T, K>> rx;
  r.log.count(invariant::no_errors);
  try {
    rx.emplace(io, r.cfg.channel, coipc::role::receiver, options_for(r.cfg.v));
  } catch (const std::system_error& e) {
    r.log.fail(invariant::no_errors, std::string("open as receiver: ") + e.what());
    return 3;
  }
  stream_checker check(r.log, r.rep, r.cfg.v.policy == policy_t::block, opened(r));
  int status = 0;
  asio::co_spawn(io, receive_loop(*rx, check, r), fail_on_exception(r.log, "co_await recv", status));
  io.run();
  return status;
}

}  // namespace

int run_receiver(const party_config& cfg) {
  report rep = report::open(cfg.report_name);
  party_record* rec = start_party(cfg, rep);
  if (!rec) return 2;
  party_log log(*rec, cfg.incarnation, cfg.t0_ns);
  receiver_context r{cfg, rep, log};
  rec->pre_open_ns.store(monotonic_ns(), std::memory_order_relaxed);
  const int status = with_channel_types(cfg.v, [&]<class T, coipc::detail::channel_kind K>() {
    return cfg.v.api == api_t::blocking ? blocking_receiver<T, K>(r) : coroutine_receiver<T, K>(r);
  });
  if (status == 0) rec->state.store(static_cast<std::uint32_t>(party_state::finished), std::memory_order_release);
  return status;
}

}  // namespace torture
