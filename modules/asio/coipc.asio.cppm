// Module coipc.asio: coipc channels in Asio services.
//
//     coipc::async_route<Reading> rx(io.get_executor(), "telemetry", coipc::role::receiver);
//     Reading r = co_await rx.recv();                     // asio::awaitable
//     rx.async_recv([](std::error_code ec, Reading r) { ... });   // any completion token
//
// How it works:
//   - An operation first tries the channel at once. When a message (or space) is there it
//     completes without a syscall, without another thread and without parking: the
//     completion is posted to the handler's executor (never invoked inline).
//   - Otherwise it registers with the process's one waiter (waiter.cpp): a dedicated
//     thread that spins briefly, then announces itself on the futex words of every channel
//     with pending operations (so that senders wake it only when it really sleeps) and
//     parks on all of them at once (futex_waitv; a polling fallback on older kernels). When
//     a channel is ready it posts the operation back to its handler's executor, which
//     performs it there. io_context threads never spin or block in coipc.
//   - Asio's rules for asynchronous operations hold: async_initiate, completion through the
//     handler's associated executor and never inline, outstanding work while pending, the
//     associated allocator for the operation's state, per-operation cancellation through
//     the associated cancellation slot (the aborted completion is posted, and a cancelled
//     recv consumes no message).
//   - close() completes pending operations with coipc::errc::closed; destroying the
//     io_context with operations pending destroys them without completing (no leak).
//
// One receive and one send may be pending at once on an async channel, as with Asio
// sockets, and their completions may run on different threads of the io_context.
// Completion signatures: recv `void(std::error_code, T)` (coipc::message for bytes), send
// `void(std::error_code)`. For bytes, the payload of async_send must stay valid until the
// operation completes (like asio::async_write's buffers).
module;
#include <asio.hpp>
#include <asio/bind_allocator.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/experimental/deferred.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
export module coipc.asio;
export import coipc;
// The internals (see there); exported as every interface partition must be, which makes
// visible only what it exports itself.
export import :operation;

export namespace coipc::asio_support {
/// The Asio version this module was built against (ASIO_VERSION, e.g. 102201 for 1.22.1).
constexpr int asio_version = ASIO_VERSION;
}  // namespace coipc::asio_support

export namespace coipc {

/// What the process's waiter thread(s) have done so far (every figure only grows, but
/// `threads`): for monitoring and the benchmark. A registration is an operation that found
/// its channel not ready and was handed to the waiter; a park is a waiter thread going to
/// sleep on its channels' futex words.
struct waiter_stats {
  std::uint64_t registrations = 0;
  std::uint64_t parks = 0;
  std::size_t threads = 0;  ///< waiter threads running now (one per 127 pending channels)
};

/// This process's waiter statistics (coipc.asio runs one waiter for the whole process).
inline waiter_stats asio_waiter_stats() noexcept {
  const detail::waiter& w = detail::waiter::instance();
  return {w.registrations(), w.parks(), w.threads()};
}

/// A route or channel for Asio: the blocking API plus asynchronous recv and send.
template <class T, detail::channel_kind Kind, class Executor = ::asio::any_io_executor>
class basic_async_channel {
 public:
  using executor_type = Executor;
  using channel_type = basic_channel<T, Kind>;
  using send_type = typename channel_type::send_type;
  using recv_type = typename channel_type::recv_type;

  basic_async_channel(const executor_type& ex, std::string_view name, role r,
                      const channel_options& options = {})
      : ex_(ex), state_(std::make_shared<state>(name, r, options)) {}
  template <class ExecutionContext>
    requires std::is_convertible_v<ExecutionContext&, ::asio::execution_context&>
  basic_async_channel(ExecutionContext& ctx, std::string_view name, role r,
                      const channel_options& options = {})
      : basic_async_channel(ctx.get_executor(), name, r, options) {}

  basic_async_channel(basic_async_channel&&) noexcept = default;
  basic_async_channel& operator=(basic_async_channel&& o) noexcept {
    if (this != &o) {
      close();
      ex_ = std::move(o.ex_);
      state_ = std::move(o.state_);
      recv_streak_ = o.recv_streak_;
      send_streak_ = o.send_streak_;
    }
    return *this;
  }
  ~basic_async_channel() { close(); }

  executor_type get_executor() const noexcept { return ex_; }
  /// The blocking API of the same connection (do not mix with a pending async call in
  /// the same direction).
  channel_type& channel() noexcept { return state_->channel; }

  /// Receives the next message. Signature: void(std::error_code, recv_type).
  template <class CompletionToken>
  auto async_recv(CompletionToken&& token) {
    return ::asio::async_initiate<CompletionToken, void(std::error_code, recv_type)>(
        [](auto handler, const executor_type& ex, std::shared_ptr<state> st) {
          detail::channel_op<std::decay_t<decltype(handler)>, executor_type, state, recv_attempt>::start(
              std::move(handler), ex, std::move(st), recv_attempt{});
        },
        token, ex_, state_);
  }

  /// Sends a message, waiting for space under the block policy. Signature:
  /// void(std::error_code).
  template <class CompletionToken>
  auto async_send(const send_type& value, CompletionToken&& token) {
    return ::asio::async_initiate<CompletionToken, void(std::error_code)>(
        [](auto handler, const executor_type& ex, std::shared_ptr<state> st, send_type v) {
          detail::channel_op<std::decay_t<decltype(handler)>, executor_type, state, send_attempt>::start(
              std::move(handler), ex, std::move(st), send_attempt{v});
        },
        token, ex_, state_, value);
  }

  /// `co_await ch.recv()`: the next message, or std::system_error. When a message is
  /// there it is returned at once, without suspending (no post, no other thread); every
  /// `fairness_interval`-th consecutive such result suspends through the executor
  /// instead, so that a busy channel cannot starve the io_context's other work.
  ::asio::awaitable<recv_type, executor_type> recv() {
    if (++recv_streak_ < fairness_interval) {
      if (auto v = recv_attempt{}.try_once(*state_)) {
        auto& [error, value] = *v;
        if (error) throw std::system_error(error, last_error_message());
        co_return std::move(value);
      }
    }
    recv_streak_ = 0;
    co_return co_await async_recv(::asio::use_awaitable_t<executor_type>{});
  }
  /// `co_await ch.send(v)`: suspends while the ring is full (block policy); returns at
  /// once otherwise (with the same fairness rule as recv()).
  ::asio::awaitable<void, executor_type> send(send_type value) {
    if (++send_streak_ < fairness_interval) {
      if (auto r = send_attempt{value}.try_once(*state_)) {
        if (auto error = std::get<0>(*r)) throw std::system_error(error, last_error_message());
        co_return;
      }
    }
    send_streak_ = 0;
    co_await async_send(value, ::asio::use_awaitable_t<executor_type>{});
  }

  /// Waits until at least `n` receivers are connected. Signature: void(std::error_code).
  /// Cancellable like the others; for a deadline, combine it with a timer
  /// (`co_await (ch.wait_for_receivers(n) || timer.async_wait(use_awaitable))`).
  template <class CompletionToken>
  auto async_wait_for_receivers(std::uint32_t n, CompletionToken&& token) {
    return ::asio::async_initiate<CompletionToken, void(std::error_code)>(
        [](auto handler, const executor_type& ex, std::shared_ptr<state> st, std::uint32_t wanted) {
          detail::channel_op<std::decay_t<decltype(handler)>, executor_type, state, receivers_attempt>::start(
              std::move(handler), ex, std::move(st), receivers_attempt{wanted});
        },
        token, ex_, state_, n);
  }
  /// `co_await ch.wait_for_receivers(n)`: without blocking the io_context's thread.
  ::asio::awaitable<void, executor_type> wait_for_receivers(std::uint32_t n) {
    co_await async_wait_for_receivers(n, ::asio::use_awaitable_t<executor_type>{});
  }

  /// How many results in a row recv()/send() may return without suspending.
  static constexpr unsigned fairness_interval = 64;

  /// Completes pending operations with errc::closed and leaves the channel: its slot is
  /// freed at once, or, when an attempt is running on another thread right now, as soon
  /// as that attempt ends. Later operations complete with errc::closed.
  void close() noexcept {
    if (!state_ || !state_->life.mark_closed()) return;
    detail::waiter::instance().cancel_channel(state_->channel.port(), make_error_code(errc::closed));
    if (state_->life.mark_swept()) state_->channel.close();
  }

 private:
  struct state {
    state(std::string_view name, role r, const channel_options& o)
        : channel(name, r, o), spin(o.spin) {}
    channel_type channel;
    detail::channel_life life;
    spin_policy spin;
  };


  // Sets this thread's last_error_message() too, so that a thrown system_error says which
  // channel was closed.
  static std::error_code closed_error(state& st) {
    std::error_code ec;
    detail::fail(ec, errc::closed, "channel '" + st.channel.port().name() + "': closed");
    return ec;
  }

  struct recv_attempt {
    static constexpr auto dir = detail::async_op::direction::receive;
    using result_type = std::tuple<std::error_code, recv_type>;
    std::size_t amount() const noexcept { return 0; }
    static result_type failed(std::error_code ec) { return {ec, recv_type{}}; }
    std::optional<result_type> try_once(state& st) {
      if (!st.life.enter()) return failed(closed_error(st));
      std::error_code ec;
      auto v = st.channel.try_recv(ec);
      if (st.life.leave()) st.channel.close();
      if (ec == errc::would_block) return std::nullopt;
      if (ec) return failed(ec);
      return result_type{ec, std::move(*v)};
    }
  };

  struct send_attempt {
    static constexpr auto dir = detail::async_op::direction::send;
    using result_type = std::tuple<std::error_code>;
    send_type value;
    std::size_t amount() const noexcept {
      if constexpr (channel_type::is_bytes) {
        return value.size();
      } else {
        return sizeof(T);
      }
    }
    static result_type failed(std::error_code ec) { return {ec}; }
    std::optional<result_type> try_once(state& st) {
      if (!st.life.enter()) return failed(closed_error(st));
      std::error_code ec;
      st.channel.try_send(value, ec);
      if (st.life.leave()) st.channel.close();
      if (ec == errc::would_block) return std::nullopt;
      return result_type{ec};
    }
  };

  struct receivers_attempt {
    static constexpr auto dir = detail::async_op::direction::receivers;
    using result_type = std::tuple<std::error_code>;
    std::uint32_t wanted;
    std::size_t amount() const noexcept { return wanted; }
    static result_type failed(std::error_code ec) { return {ec}; }
    std::optional<result_type> try_once(state& st) {
      if (!st.life.enter()) return failed(closed_error(st));
      const bool enough = st.channel.receiver_count() >= wanted;
      if (st.life.leave()) st.channel.close();
      if (!enough) return std::nullopt;
      return result_type{std::error_code{}};
    }
  };

  executor_type ex_;
  std::shared_ptr<state> state_;
  // Results in a row returned without suspending, one count per direction: a receive and
  // a send may be pending at once, on different threads.
  unsigned recv_streak_ = 0;
  unsigned send_streak_ = 0;
};

template <class T, class Executor = ::asio::any_io_executor>
using async_route = basic_async_channel<T, detail::channel_kind::route, Executor>;

template <class T, class Executor = ::asio::any_io_executor>
using async_channel = basic_async_channel<T, detail::channel_kind::channel, Executor>;

}  // namespace coipc
