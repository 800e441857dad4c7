// coipc-torture --hostile: the senders and receivers that run while the scribbler writes
// garbage into their channel (scribbler.cpp), and the command line of every hostile party.
//
// They use only calls that end by themselves: send_for / try_send, recv_for / try_recv,
// view_for / try_view, recv_into_for / try_recv_into, and in the coroutine variants
// async_send / async_recv raced against a timer (`op || timer`), each with a timeout of
// 50-100 ms (seeded). A blocking loan() has no timed form, so hostile senders do not loan.
// Every call is timed against its own timeout, every error counted by kind, every frame
// received is checked to be bounded and then read to its last byte (so that a frame
// reaching past the ring would fault on the guard region, or be seen by ASan). After an
// error a party goes on; after a corrupt frame, or a run of failures, it may close the
// channel and open it again (an open that fails with a clear error is counted, then
// retried). Nothing here judges: the supervisor reads the counts (hostile.cpp).
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <system_error>
#include <tuple>
#include <variant>
#include <vector>

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "hostile.hpp"
#include "report.hpp"
#include "support/payload.hpp"

import coipc;
import coipc.asio;

#include "channel_setup.hpp"

namespace torture {

namespace {

using namespace asio::experimental::awaitable_operators;
using std::chrono::nanoseconds;

template <class T>
constexpr bool is_bytes = std::is_same_v<T, coipc::bytes>;

unsigned error_kind(const std::error_code& ec) {
  if (ec.category() == coipc::error_category() && ec.value() > 0 &&
      static_cast<unsigned>(ec.value()) < hostile_error_kinds) {
    return static_cast<unsigned>(ec.value());
  }
  return 0;
}

/// When a call began: the clock, and how long this thread had waited for a CPU by then.
struct call_start {
  std::uint64_t ns;
  std::uint64_t waited_ns;
};

// What one party counts, into its record (single writer: this process).
//
// A call's overrun is measured less the time its thread spent runnable but not running
// (run_delay in /proc/thread-self/schedstat): on a loaded machine a process may wait
// hundreds of milliseconds for a CPU, which no library can help; time asleep (a futex
// wait past the deadline, say) is not excused. Without schedstat nothing is subtracted.
class meter {
 public:
  meter(const hostile_party_config& cfg, report& rep, party_record& rec)
      : cfg_(cfg), rep_(rep), rec_(rec), h_(rec.hostile), rng_(cfg.seed),
        schedstat_(::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC)) {}
  ~meter() {
    if (schedstat_ >= 0) ::close(schedstat_);
  }
  meter(const meter&) = delete;
  meter& operator=(const meter&) = delete;

  /// Call this right before a call (on the thread that makes it).
  call_start begin() const { return {monotonic_ns(), waited_ns()}; }

  bool stopping() const { return rep_.header().hostile_stop.load(std::memory_order_relaxed) != 0; }
  std::uint64_t below(std::uint64_t n) { return rng_() % n; }
  /// A timed call's timeout: uniform in [min, max] ms, to the microsecond.
  nanoseconds pick_timeout() {
    const std::uint64_t lo = cfg_.timeout_min_ms * 1000ull, hi = cfg_.timeout_max_ms * 1000ull;
    return std::chrono::microseconds(lo + (hi > lo ? rng_() % (hi - lo + 1) : 0));
  }

  /// A call returned: `timeout` is its own (0 for try_ calls), `ec` its error (clear on
  /// success). Returns whether it succeeded.
  bool returned(call_kind k, nanoseconds timeout, const call_start& began, const std::error_code& ec) {
    const std::uint64_t now = monotonic_ns();
    bump(h_.calls);
    if (ec) bump(h_.errors[error_kind(ec)]);
    note_overrun(k, timeout, now - began.ns, waited_since(began), now);
    h_.last_call_ns.store(now, std::memory_order_relaxed);
    return !ec;
  }

  /// An open returned. Its "timeout" is the stall timeout: connecting waits at most that
  /// long for slots that are changing hands (ring.cpp, "connecting and leaving").
  bool opened(const call_start& began, const std::error_code& ec) {
    const std::uint64_t now = monotonic_ns();
    bump(h_.opens);
    if (ec) bump(h_.open_errors[error_kind(ec)]);
    const std::uint64_t took = now - began.ns;
    if (took > h_.max_open_ns.load(std::memory_order_relaxed)) h_.max_open_ns.store(took, std::memory_order_relaxed);
    note_overrun(call_kind::open, std::chrono::milliseconds(stall_timeout_ms), took, waited_since(began), now);
    h_.last_call_ns.store(now, std::memory_order_relaxed);
    if (!ec) rec_.state.store(static_cast<std::uint32_t>(party_state::connected), std::memory_order_release);
    return !ec;
  }

  void sent() { bump(h_.frames); }

  /// A frame received: `limit` is the most bytes it may have (bytes) or the exact size it
  /// must have (typed). Reads every byte, checks the bound, and counts it whole when it is
  /// an untouched torture message.
  void received(std::span<const std::byte> d, std::size_t limit, bool exact, call_kind k) {
    // Every byte, through a volatile sink: a frame that reached past the ring (or the
    // mapping) faults here, on the guard region, or is reported by ASan.
    std::uint64_t sum = 0;
    for (std::byte b : d) sum = sum * 31 + static_cast<unsigned>(b);
    sink_ = sum;
    bump(h_.frames);
    if (exact ? d.size() != limit : d.size() > limit) {
      bump(h_.unbounded);
      note_problem(strf("%s returned a frame of %zu B where the channel allows %s%zu B", call_kind_names[static_cast<unsigned>(k)],
                        d.size(), exact ? "exactly " : "at most ", limit));
    }
    if (coipc_payload::intact(d)) bump(h_.whole);
  }

  /// Keeps the first problem's description for the supervisor (and prints it).
  void note_problem(const std::string& what) {
    if (rec_.failure_text_ready.load(std::memory_order_relaxed) == 0) {
      rec_.first_failure_ns.store(monotonic_ns(), std::memory_order_relaxed);
      std::snprintf(rec_.failure_text, sizeof rec_.failure_text, "%s", what.c_str());
      rec_.failure_text_ready.store(1, std::memory_order_release);
      std::fprintf(stderr, "torture: hostile incarnation %llu (pid %d) at %.3f s: %s\n",
                   static_cast<unsigned long long>(cfg_.incarnation), static_cast<int>(::getpid()),
                   static_cast<double>(monotonic_ns() - cfg_.t0_ns) / 1e9, what.c_str());
    }
  }

  /// Whether to close and reopen after this call's outcome: sometimes after a corrupt
  /// frame (the receiver stays at it until it is overwritten), after a run of failures
  /// (the channel may be wedged by a tail far ahead, or a "receiver" a ring behind), and
  /// now and then for no reason.
  bool want_reopen(const std::error_code& ec) {
    failures_in_row_ = ec ? failures_in_row_ + 1 : 0;
    if (ec == coipc::errc::corrupt_segment && below(8) == 0) return true;
    if (failures_in_row_ >= 20 && below(4) == 0) return true;
    return below(2000) == 0;
  }

  /// Between a failed open and the next try: 1-10 ms.
  void backoff() {
    const timespec ts{0, static_cast<long>(1 + below(10)) * 1000000L};
    ::nanosleep(&ts, nullptr);
  }

  const hostile_party_config& cfg() const { return cfg_; }

 private:
  /// This thread's total wait for a CPU so far (0 when schedstat cannot be read).
  std::uint64_t waited_ns() const {
    if (schedstat_ < 0) return 0;
    char buf[96];
    const ssize_t n = ::pread(schedstat_, buf, sizeof buf - 1, 0);
    if (n <= 0) return 0;
    buf[n] = '\0';
    // "<on-CPU ns> <run-queue wait ns> <slices>"
    unsigned long long running = 0, waited = 0;
    return std::sscanf(buf, "%llu %llu", &running, &waited) == 2 ? waited : 0;
  }

  std::uint64_t waited_since(const call_start& began) const {
    const std::uint64_t w = waited_ns();
    return w > began.waited_ns ? w - began.waited_ns : 0;
  }

  void note_overrun(call_kind k, nanoseconds timeout, std::uint64_t took_ns, std::uint64_t waited_ns, std::uint64_t now) {
    const auto limit = static_cast<std::uint64_t>(timeout.count());
    const std::uint64_t raw = took_ns > limit ? took_ns - limit : 0;
    const std::uint64_t over = raw > waited_ns ? raw - waited_ns : 0;
    if (raw > h_.max_raw_overrun_ns.load(std::memory_order_relaxed)) h_.max_raw_overrun_ns.store(raw, std::memory_order_relaxed);
    if (over > h_.max_overrun_ns.load(std::memory_order_relaxed)) {
      h_.max_overrun_call.store(static_cast<std::uint32_t>(k), std::memory_order_relaxed);
      h_.max_overrun_timeout_us.store(static_cast<std::uint32_t>(limit / 1000), std::memory_order_relaxed);
      h_.max_overrun_at_ns.store(now, std::memory_order_relaxed);
      h_.max_overrun_waited_ns.store(waited_ns, std::memory_order_relaxed);
      h_.max_overrun_ns.store(over, std::memory_order_relaxed);
    }
  }

  const hostile_party_config& cfg_;
  report& rep_;
  party_record& rec_;
  hostile_record& h_;
  std::mt19937_64 rng_;
  int schedstat_;  // /proc/thread-self/schedstat of the thread that made the meter, or -1
  unsigned failures_in_row_ = 0;
  volatile std::uint64_t sink_ = 0;
};

/// Message sizes for bytes channels: mostly small, sometimes up to the maximum.
template <class T>
std::size_t next_size(meter& m) {
  if constexpr (is_bytes<T>) {
    const auto r = m.below(100);
    if (r < 3) return max_message - m.below(1024);
    if (r < 25) return coipc_payload::header_size + m.below(4096);
    return coipc_payload::header_size + m.below(512);
  } else {
    return sizeof(T);
  }
}

// ---- blocking API ----------------------------------------------------------------------------

template <class T, coipc::detail::channel_kind K>
std::optional<coipc::basic_channel<T, K>> open_channel(meter& m, coipc::role r) {
  std::error_code ec;
  const call_start began = m.begin();
  coipc::basic_channel<T, K> ch(m.cfg().channel, r, options_for(m.cfg().v), ec);
  if (!m.opened(began, ec)) return std::nullopt;
  return ch;
}

template <class T, coipc::detail::channel_kind K>
int blocking_sender(meter& m) {
  std::optional<coipc::basic_channel<T, K>> tx;
  std::vector<std::byte> buf(max_message);
  std::uint64_t seq = 0;
  while (!m.stopping()) {
    if (!tx) {
      tx = open_channel<T, K>(m, coipc::role::sender);
      if (!tx) {
        m.backoff();
        continue;
      }
    }
    const std::span<std::byte> msg(buf.data(), next_size<T>(m));
    coipc_payload::fill(msg, m.cfg().incarnation, seq, tx->sender_id());
    const bool timed = m.below(4) != 0;
    const nanoseconds timeout = timed ? m.pick_timeout() : nanoseconds::zero();
    std::error_code ec;
    const call_start began = m.begin();
    if constexpr (is_bytes<T>) {
      const coipc::byte_view v(msg.data(), msg.size());
      timed ? tx->send_for(v, timeout, ec) : tx->try_send(v, ec);
    } else {
      T value;
      std::memcpy(&value, msg.data(), sizeof(T));
      timed ? tx->send_for(value, timeout, ec) : tx->try_send(value, ec);
    }
    if (m.returned(timed ? call_kind::send_for : call_kind::try_send, timeout, began, ec)) {
      m.sent();
      ++seq;
    }
    if (m.want_reopen(ec)) tx.reset();
  }
  return 0;
}

template <class T, coipc::detail::channel_kind K>
int blocking_receiver(meter& m) {
  std::optional<coipc::basic_channel<T, K>> rx;
  coipc::message msg;
  std::vector<std::byte> buf(max_message);
  const bool overwrite = m.cfg().v.policy == policy_t::overwrite;
  while (!m.stopping()) {
    if (!rx) {
      rx = open_channel<T, K>(m, coipc::role::receiver);
      if (!rx) {
        m.backoff();
        continue;
      }
    }
    // Bytes: at most the channel's maximum; typed: exactly sizeof(T).
    const std::size_t limit = is_bytes<T> ? rx->max_message_size() : sizeof(T);
    const bool exact = !is_bytes<T>;
    const nanoseconds timeout = m.pick_timeout();
    std::error_code ec;
    const call_start began = m.begin();
    // A copied message's bytes: a bytes message's data, or the typed value itself.
    auto received_copy = [&](const auto& v, call_kind k) {
      if constexpr (is_bytes<T>) {
        m.received(v->data, limit, exact, k);
      } else {
        m.received(std::as_bytes(std::span(&*v, 1)), limit, exact, k);
      }
    };
    const auto r = m.below(is_bytes<T> ? 6 : 4);
    if (r == 0) {  // recv_for
      auto v = rx->recv_for(timeout, ec);
      if (m.returned(call_kind::recv_for, timeout, began, ec)) received_copy(v, call_kind::recv_for);
    } else if (r == 1) {  // try_recv
      auto v = rx->try_recv(ec);
      if (m.returned(call_kind::try_recv, nanoseconds::zero(), began, ec)) received_copy(v, call_kind::try_recv);
    } else if (r == 2 || r == 3) {  // view_for, try_view: read in place
      const bool timed = r == 2;
      auto v = timed ? rx->view_for(timeout, ec) : rx->try_view(ec);
      const call_kind k = timed ? call_kind::view_for : call_kind::try_view;
      if (m.returned(k, timed ? timeout : nanoseconds::zero(), began, ec)) {
        m.received(v.data(), limit, exact, k);
        if constexpr (!is_bytes<T>) {
          // The typed path reads sizeof(T) through operator*, whatever data() says.
          volatile std::byte last = (*v).pattern[sizeof((*v).pattern) - 1];
          (void)last;
        }
        if (overwrite) (void)v.intact();  // the seqlock check after reading, as a real reader does
      }
    } else if constexpr (is_bytes<T>) {  // recv_into_for, try_recv_into
      const bool timed = r == 4;
      // Now and then a buffer too small for most messages: message_too_large, nothing consumed.
      const std::size_t room = m.below(8) == 0 ? 64 : buf.size();
      const std::span<std::byte> into(buf.data(), room);
      const auto n = timed ? rx->recv_into_for(into, timeout, ec) : rx->try_recv_into(into, ec);
      const call_kind k = timed ? call_kind::recv_into_for : call_kind::try_recv_into;
      if (m.returned(k, timed ? timeout : nanoseconds::zero(), began, ec)) {
        if (*n > room) {
          m.note_problem(strf("%s returned %zu B into a buffer of %zu B", call_kind_names[static_cast<unsigned>(k)], *n, room));
          m.received(std::span<const std::byte>(buf.data(), room), 0, false, k);  // counted unbounded
        } else {
          m.received(std::span<const std::byte>(buf.data(), *n), limit, exact, k);
        }
      }
    }
    if (m.want_reopen(ec)) rx.reset();
  }
  return 0;
}

// ---- coroutine API (coipc.asio): each operation raced against a timer -------------------

// Coroutine functions, not lambdas: a lambda coroutine's captures die with the closure,
// which co_spawn does not keep.

template <class T, coipc::detail::channel_kind K>
asio::awaitable<void> async_sender(meter& m, asio::io_context& io) {
  asio::steady_timer timer(io);
  std::optional<coipc::basic_async_channel<T, K>> tx;
  std::vector<std::byte> buf(max_message);
  std::uint64_t seq = 0;
  constexpr auto tuple = asio::experimental::as_tuple(asio::use_awaitable);
  while (!m.stopping()) {
    if (!tx) {
      std::error_code ec;
      const call_start began = m.begin();
      try {
        tx.emplace(io, m.cfg().channel, coipc::role::sender, options_for(m.cfg().v));
      } catch (const std::system_error& e) {
        ec = e.code();
      }
      if (!m.opened(began, ec)) {
        tx.reset();
        timer.expires_after(std::chrono::milliseconds(1 + m.below(10)));
        co_await timer.async_wait(tuple);
        continue;
      }
    }
    const std::span<std::byte> msg(buf.data(), next_size<T>(m));
    coipc_payload::fill(msg, m.cfg().incarnation, seq, tx->channel().sender_id());
    const nanoseconds timeout = m.pick_timeout();
    timer.expires_after(timeout);
    std::error_code ec;
    const call_start began = m.begin();
    std::variant<std::tuple<std::error_code>, std::tuple<std::error_code>> r;
    if constexpr (is_bytes<T>) {
      // The payload stays valid until the operation completes: `buf` is not touched
      // before the race below is over (cancelled sends complete too).
      r = co_await (tx->async_send(coipc::byte_view(msg.data(), msg.size()), tuple) || timer.async_wait(tuple));
    } else {
      T value;
      std::memcpy(&value, msg.data(), sizeof(T));
      r = co_await (tx->async_send(value, tuple) || timer.async_wait(tuple));
    }
    // The timer first: the send was cancelled, which is this call's timeout.
    ec = r.index() == 0 ? std::get<0>(std::get<0>(r)) : make_error_code(coipc::errc::timeout);
    if (m.returned(call_kind::async_send, timeout, began, ec)) {
      m.sent();
      ++seq;
    }
    if (m.want_reopen(ec)) tx.reset();
  }
}

template <class T, coipc::detail::channel_kind K>
asio::awaitable<void> async_receiver(meter& m, asio::io_context& io) {
  using recv_type = typename coipc::basic_async_channel<T, K>::recv_type;
  asio::steady_timer timer(io);
  std::optional<coipc::basic_async_channel<T, K>> rx;
  constexpr auto tuple = asio::experimental::as_tuple(asio::use_awaitable);
  while (!m.stopping()) {
    if (!rx) {
      std::error_code ec;
      const call_start began = m.begin();
      try {
        rx.emplace(io, m.cfg().channel, coipc::role::receiver, options_for(m.cfg().v));
      } catch (const std::system_error& e) {
        ec = e.code();
      }
      if (!m.opened(began, ec)) {
        rx.reset();
        timer.expires_after(std::chrono::milliseconds(1 + m.below(10)));
        co_await timer.async_wait(tuple);
        continue;
      }
    }
    const std::size_t limit = is_bytes<T> ? rx->channel().max_message_size() : sizeof(T);
    const nanoseconds timeout = m.pick_timeout();
    timer.expires_after(timeout);
    const call_start began = m.begin();
    auto r = co_await (rx->async_recv(tuple) || timer.async_wait(tuple));
    std::error_code ec = r.index() == 0 ? std::get<0>(std::get<0>(r)) : make_error_code(coipc::errc::timeout);
    if (m.returned(call_kind::async_recv, timeout, began, ec)) {
      const recv_type& v = std::get<1>(std::get<0>(r));
      if constexpr (is_bytes<T>) {
        m.received(v.data, limit, false, call_kind::async_recv);
      } else {
        m.received(std::as_bytes(std::span(&v, 1)), limit, true, call_kind::async_recv);
      }
    }
    if (m.want_reopen(ec)) rx.reset();
  }
}

template <class T, coipc::detail::channel_kind K>
int coroutine_party(meter& m, bool sender) {
  asio::io_context io;
  int status = 0;
  auto done = [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      m.note_problem(std::string("exception out of the coroutine: ") + x.what());
      status = 3;
    }
  };
  if (sender) {
    asio::co_spawn(io, async_sender<T, K>(m, io), done);
  } else {
    asio::co_spawn(io, async_receiver<T, K>(m, io), done);
  }
  io.run();
  return status;
}

}  // namespace

bool is_hostile_role(const std::string& role) {
  return role == "scribbler" || role == "hostile-sender" || role == "hostile-receiver";
}

std::optional<hostile_party_config> parse_hostile_party(const std::vector<std::string>& args, std::string& error) {
  hostile_party_config c;
  auto role_of = [](const std::string& r) {
    if (r == "hostile-sender") return party_role::sender;
    if (r == "hostile-receiver") return party_role::receiver;
    if (r == "scribbler") return party_role::scribbler;
    return party_role::none;
  };
  auto own = [&](const std::string& a, const std::string& val, std::string& bad) {
    if (a != "--timeout-ms") return false;
    const auto colon = val.find(':');
    if (colon == std::string::npos) {
      bad = "--timeout-ms wants MIN:MAX, got " + val;
      return true;
    }
    c.timeout_min_ms = static_cast<unsigned>(std::stoul(val.substr(0, colon)));
    c.timeout_max_ms = static_cast<unsigned>(std::stoul(val.substr(colon + 1)));
    return true;
  };
  if (!parse_party_line(args, "hostile party", role_of, own, c, error)) return std::nullopt;
  return c;
}

int run_hostile_party(const hostile_party_config& cfg) {
  report rep = report::open(cfg.report_name);
  party_record* rec = rep.record(cfg.incarnation);
  if (!rec) return 2;
  rec->pid.store(::getpid(), std::memory_order_relaxed);
  rec->hostile.last_call_ns.store(monotonic_ns(), std::memory_order_relaxed);
  if (cfg.role == party_role::scribbler) return run_scribbler(cfg, rep, *rec);
  return cfg.role == party_role::sender ? run_hostile_sender(cfg, rep, *rec) : run_hostile_receiver(cfg, rep, *rec);
}

int run_hostile_sender(const hostile_party_config& cfg, report& rep, party_record& rec) {
  meter m(cfg, rep, rec);
  return with_channel_types(cfg.v, [&]<class T, coipc::detail::channel_kind K>() {
    return cfg.v.api == api_t::blocking ? blocking_sender<T, K>(m) : coroutine_party<T, K>(m, true);
  });
}

int run_hostile_receiver(const hostile_party_config& cfg, report& rep, party_record& rec) {
  meter m(cfg, rep, rec);
  return with_channel_types(cfg.v, [&]<class T, coipc::detail::channel_kind K>() {
    return cfg.v.api == api_t::blocking ? blocking_receiver<T, K>(m) : coroutine_party<T, K>(m, false);
  });
}

}  // namespace torture
