// coipc-torture: a sender party. Sends self-checking messages (payload.hpp) as fast as the
// channel lets it until the supervisor says stop, counting in its record every message
// whose send returned. It may die at any instant: killed by the supervisor, or by itself
// at its --die-at point.
#include <asio.hpp>

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

#include "party.hpp"
#include "report.hpp"
#include "support/payload.hpp"

import coipc;
import coipc.asio;

#include "channel_setup.hpp"

namespace torture {

namespace {

/// Message sizes for bytes channels: mostly small, a fifth up to 4 KiB, and regularly at
/// or near the maximum (half the ring: two of them fill it).
std::size_t pick_size(std::mt19937_64& rng) {
  const auto r = rng() % 100;
  if (r == 0) return max_message;
  if (r < 4) return max_message - rng() % 1024;
  if (r < 25) return coipc_payload::header_size + rng() % 4096;
  return coipc_payload::header_size + rng() % 512;
}

template <class T>
constexpr bool is_bytes = std::is_same_v<T, coipc::bytes>;

template <class T>
std::size_t next_size(std::mt19937_64& rng) {
  if constexpr (is_bytes<T>) {
    return pick_size(rng);
  } else {
    return sizeof(T);
  }
}

struct sender_context {
  const party_config& cfg;
  report_header& header;
  party_log& log;
  std::uint32_t slot = 0;
  bool last_word_sent = false;  ///< asked to pause: the one message before the pause is out
};

void opened(sender_context& s, std::uint32_t slot) {
  s.slot = slot;
  party_record& r = s.log.record();
  r.slot.store(slot, std::memory_order_relaxed);
  r.connected_ns.store(monotonic_ns(), std::memory_order_relaxed);
  r.state.store(static_cast<std::uint32_t>(party_state::connected), std::memory_order_release);
}

// One message out: counted only once its send returned, so that a receiver may get at most
// one more than the count from a sender killed between publishing and counting.
void sent(sender_context& s, std::uint64_t count) {
  s.log.record().sent.store(count, std::memory_order_relaxed);
  s.log.progress(s.header);
}

// Between messages, while the supervisor asks (its drained check): no send in flight, and
// the record says so. First a last word: 2 ms of silence, so that the receivers have
// parked, then one message, whose wake-up is the one that matters (a lost one is not made
// up for by the next message). A plain sleep, in the coroutine sender too: its io_context
// has no other work, and the waiter thread runs on.
void pause_while_asked(sender_context& s) {
  if (s.header.pause_senders.load(std::memory_order_acquire) == 0) return;
  if (!s.last_word_sent) {
    ::usleep(2000);
    s.last_word_sent = true;
    return;  // the caller sends it
  }
  s.last_word_sent = false;
  party_record& r = s.log.record();
  r.paused.store(1, std::memory_order_release);
  while (s.header.pause_senders.load(std::memory_order_acquire) != 0 &&
         s.header.stop_senders.load(std::memory_order_relaxed) == 0) {
    ::usleep(500);
  }
  r.paused.store(0, std::memory_order_relaxed);
}

// ---- blocking API -------------------------------------------------------------------------

template <class T, coipc::detail::channel_kind K>
int blocking_sender(sender_context& s) {
  std::mt19937_64 rng(s.cfg.seed);
  std::error_code ec;
  coipc::basic_channel<T, K> tx(s.cfg.channel, coipc::role::sender, options_for(s.cfg.v), ec);
  s.log.count(invariant::no_errors);
  if (ec) {
    s.log.fail(invariant::no_errors, "open as sender: " + coipc::last_error_message());
    return 3;
  }
  opened(s, tx.sender_id());
  std::vector<std::byte> buf(max_message);
  for (std::uint64_t seq = 0; s.header.stop_senders.load(std::memory_order_relaxed) == 0;) {
    pause_while_asked(s);
    const std::size_t size = next_size<T>(rng);
    const std::span<std::byte> msg(buf.data(), size);
    const bool die_here = mid_payload_due(s.cfg, s.header);
    if (die_here || rng() % 4 == 0) {
      // Zero copy: the message is written in place, in the ring.
      auto loan = tx.loan(size, ec);
      if (ec) {
        s.log.fail(invariant::no_errors, "loan: " + coipc::last_error_message());
        return 3;
      }
      if (die_here) {
        // Half the message in place, then death: receivers must skip the claim.
        coipc_payload::fill(msg, s.cfg.incarnation, seq, s.slot);
        std::memcpy(loan.data().data(), msg.data(), size / 2);
        die_now(s.log.record(), die_point::mid_payload);
      }
      coipc_payload::fill(loan.data(), s.cfg.incarnation, seq, s.slot);
      loan.commit();
    } else {
      coipc_payload::fill(msg, s.cfg.incarnation, seq, s.slot);
      if constexpr (is_bytes<T>) {
        tx.send(coipc::byte_view(msg.data(), msg.size()), ec);
      } else {
        T value;
        std::memcpy(&value, msg.data(), sizeof(T));
        tx.send(value, ec);
      }
      if (ec) {
        s.log.fail(invariant::no_errors, "send: " + coipc::last_error_message());
        return 3;
      }
    }
    sent(s, ++seq);
  }
  return 0;
}

// ---- coroutine API (coipc.asio) ---------------------------------------------------------

// A coroutine function, not a lambda: a lambda coroutine's captures die with the closure,
// which co_spawn does not keep.
template <class T, coipc::detail::channel_kind K>
asio::awaitable<void> send_loop(coipc::basic_async_channel<T, K>& tx, sender_context& s) {
  std::mt19937_64 rng(s.cfg.seed);
  std::vector<std::byte> buf(max_message);
  for (std::uint64_t seq = 0; s.header.stop_senders.load(std::memory_order_relaxed) == 0;) {
    pause_while_asked(s);
    const std::span<std::byte> msg(buf.data(), next_size<T>(rng));
    coipc_payload::fill(msg, s.cfg.incarnation, seq, s.slot);
    if constexpr (is_bytes<T>) {
      co_await tx.send(coipc::byte_view(msg.data(), msg.size()));
    } else {
      T value;
      std::memcpy(&value, msg.data(), sizeof(T));
      co_await tx.send(value);
    }
    sent(s, ++seq);
  }
}

template <class T, coipc::detail::channel_kind K>
int coroutine_sender(sender_context& s) {
  asio::io_context io;
  std::optional<coipc::basic_async_channel<T, K>> tx;
  s.log.count(invariant::no_errors);
  try {
    tx.emplace(io, s.cfg.channel, coipc::role::sender, options_for(s.cfg.v));
  } catch (const std::system_error& e) {
    s.log.fail(invariant::no_errors, std::string("open as sender: ") + e.what());
    return 3;
  }
  opened(s, tx->channel().sender_id());
  int status = 0;
  asio::co_spawn(io, send_loop(*tx, s), fail_on_exception(s.log, "co_await send", status));
  io.run();
  return status;
}

}  // namespace

int run_sender(const party_config& cfg) {
  report rep = report::open(cfg.report_name);
  party_record* rec = start_party(cfg, rep);
  if (!rec) return 2;
  party_log log(*rec, cfg.incarnation, cfg.t0_ns);
  sender_context s{cfg, rep.header(), log};
  // Before opening: a receiver that connected earlier than this must see message 0.
  rec->pre_open_ns.store(monotonic_ns(), std::memory_order_relaxed);
  const int status = with_channel_types(cfg.v, [&]<class T, coipc::detail::channel_kind K>() {
    return cfg.v.api == api_t::blocking ? blocking_sender<T, K>(s) : coroutine_sender<T, K>(s);
  });
  if (status == 0) rec->state.store(static_cast<std::uint32_t>(party_state::finished), std::memory_order_release);
  return status;
}

}  // namespace torture
