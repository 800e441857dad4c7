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
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
export module coipc.asio;
export import coipc;

export namespace coipc::asio_support {
/// The Asio version this module was built against (ASIO_VERSION, e.g. 102201 for 1.22.1).
constexpr int asio_version = ASIO_VERSION;
}  // namespace coipc::asio_support

export namespace coipc::detail {

/// When an async channel's endpoint may be closed. close() must leave the channel (free
/// its slot) at once, as the blocking close() does, but attempts may be running on other
/// io_context threads and the waiter may be reading the endpoint. So: close() marks the
/// channel closed (no attempt starts after that, and the waiter accepts no registration),
/// has the waiter drop its pending operations ("swept"), and the endpoint is closed by
/// whoever comes last: close() itself when no attempt is in flight, else the last attempt
/// to finish.
class channel_life {
 public:
  /// Before an attempt touches the endpoint; false once closed (the attempt must not).
  bool enter() noexcept {
    // Relaxed: the CAS below re-checks.
    std::uint32_t v = word_.load(std::memory_order_relaxed);
    do {
      if (v & closed_bit) return false;
      // Acquire: pairs with mark_closed's release (SYNC POINT: channel life). Relaxed on
      // failure: the loop re-checks the value it gets.
    } while (!word_.compare_exchange_weak(v, v + 1, std::memory_order_acquire,
                                          std::memory_order_relaxed));
    return true;
  }
  /// After the attempt; true when the caller must close the endpoint now.
  [[nodiscard]] bool leave() noexcept {
    // acq_rel: our endpoint accesses happen before whoever closes it (SYNC POINT: channel life).
    const std::uint32_t v = word_.fetch_sub(1, std::memory_order_acq_rel);
    return (v & swept_bit) && (v & count_mask) == 1 && claim_finish();
  }
  /// First call true; later calls false (close is idempotent).
  bool mark_closed() noexcept {
    // acq_rel: see enter() and the waiter's closed() (SYNC POINT: channel life).
    return !(word_.fetch_or(closed_bit, std::memory_order_acq_rel) & closed_bit);
  }
  /// The waiter holds no operation of the channel any more; true when the caller must
  /// close the endpoint now (no attempt in flight).
  [[nodiscard]] bool mark_swept() noexcept {
    // acq_rel: the waiter's last look at the endpoint happens before whoever closes it, and
    // we see the attempts that left before (SYNC POINT: channel life).
    const std::uint32_t v = word_.fetch_or(swept_bit, std::memory_order_acq_rel);
    return (v & count_mask) == 0 && claim_finish();
  }
  bool closed() const noexcept {
    // Acquire: pairs with mark_closed's release (SYNC POINT: channel life).
    return word_.load(std::memory_order_acquire) & closed_bit;
  }

 private:
  // Exactly one caller closes the endpoint. acq_rel: whoever wins sees every access of the
  // other side, which made its own release on this word before (SYNC POINT: channel life).
  bool claim_finish() noexcept {
    return !(word_.fetch_or(finished_bit, std::memory_order_acq_rel) & finished_bit);
  }
  static constexpr std::uint32_t closed_bit = 1u << 31, swept_bit = 1u << 30,
                                 finished_bit = 1u << 29, count_mask = finished_bit - 1;
  std::atomic<std::uint32_t> word_{0};
};

/// A pending asynchronous operation, as the waiter sees it. Owned by exactly one of: the
/// initiating call, the waiter's list, a function posted to the handler's executor.
class async_op {
 public:
  enum class direction { receive, send, receivers };

  /// The futex word the waiter parks on for this operation. A wait cell is announced on
  /// (its waiters bit: notifiers wake only when it is set); a plain word (membership) is
  /// woken on every change, and the waiter parks on the value it read before re-checking.
  struct watch {
    std::atomic<std::uint32_t>* word;
    wait_cell* cell;            ///< null for a plain word
    futex_counters* counters;   ///< null for a plain word
  };

  /// `amount`: the send's length in bytes, or the number of receivers to wait for.
  async_op(endpoint& ep, const channel_life& life, direction dir, std::size_t amount,
           const void* context, spin_policy spin) noexcept
      : ep_(ep), life_(life), dir_(dir), amount_(amount), context_(context), spin_(spin) {}
  async_op(const async_op&) = delete;
  async_op& operator=(const async_op&) = delete;

  /// Waiter, under its lock: whether the channel would let the operation progress now.
  endpoint::readiness readiness() const noexcept {
    if (!ep_.is_open()) return endpoint::readiness::ready;  // run() reports the close
    switch (dir_) {
      case direction::receive: return ep_.receive_readiness();
      case direction::send: return ep_.send_readiness(amount_);
      case direction::receivers:
        return ep_.receiver_count() >= amount_ ? endpoint::readiness::ready
                                               : endpoint::readiness::waiting;
    }
    return endpoint::readiness::ready;
  }
  watch watched() const noexcept {
    switch (dir_) {
      case direction::receive: return {&ep_.data_cell().word, &ep_.data_cell(), &ep_.counters()};
      case direction::send: return {&ep_.space_cell().word, &ep_.space_cell(), &ep_.counters()};
      case direction::receivers: return {&ep_.membership_word(), nullptr, nullptr};
    }
    return {&ep_.membership_word(), nullptr, nullptr};
  }
  std::chrono::nanoseconds stall_timeout() const noexcept { return ep_.stall_timeout(); }
  /// A receive: parked with nothing to read, it looks again every stall_timeout anyway.
  bool looks_again_when_idle() const noexcept { return dir_ == direction::receive; }
  const endpoint* channel() const noexcept { return &ep_; }
  const void* context() const noexcept { return context_; }
  /// Whether its channel was closed (then the waiter must not keep it).
  bool channel_closed() const noexcept { return life_.closed(); }
  /// The spin policy of its channel's options (the waiter spins for the longest).
  spin_policy spin() const noexcept { return spin_; }

  /// Posts the operation's next attempt to its handler's executor (ownership moves there).
  virtual void post_run() = 0;
  /// Posts its completion with `ec` (ownership moves there).
  virtual void post_abort(std::error_code ec) = 0;
  /// Posts its completion with asio::error::operation_aborted (ownership moves there).
  virtual void post_aborted() = 0;
  /// Destroys it without completing (its execution context is shutting down).
  virtual void destroy() noexcept = 0;

  /// Set by cancellation while an attempt is in flight.
  std::atomic<bool> cancelled{false};
  /// Waiter only, under its lock: since when the channel has been "in progress" (a peer
  /// mid-way, or the ring full) for this operation. Once that lasts stall_timeout, the
  /// waiter hands the operation back for an attempt, which checks the peer's life: the
  /// same bound as a blocking call's, without polling in between.
  std::optional<std::chrono::steady_clock::time_point> in_progress_since;
  /// Set by the waiter (under its lock) when it hands the operation back for a stall
  /// check; read and cleared by the next attempt, which the post orders after it.
  bool stall_check_due = false;

 protected:
  ~async_op() = default;

 private:
  endpoint& ep_;
  const channel_life& life_;
  direction dir_;
  std::size_t amount_;
  const void* context_;
  spin_policy spin_;
};

/// The process's waiter: dedicated threads that park for all channels of all io_contexts.
/// One thread, plus one more for each further `channels_per_thread` channels pending at
/// once (futex_waitv takes at most 128 words). Never destroyed: it must outlive every
/// io_context, static ones included, whose shutdown calls into it.
class waiter {
 public:
  static waiter& instance();

  /// Channels one thread parks on (futex_waitv's 128 words, less the waiter's own).
  static constexpr std::size_t channels_per_thread = 127;

  /// Takes ownership of a pending operation. One that was cancelled, or whose channel was
  /// closed, while its attempt ran is completed at once (posted) instead.
  void add(async_op* op);
  /// Cancels a pending operation: if it is still waiting, posts its completion with `ec`
  /// and returns true; if an attempt is in flight, marks it cancelled and returns false.
  bool cancel(async_op* op, std::error_code ec);
  /// Posts completion with `ec` for every operation waiting on `channel`.
  void cancel_channel(const endpoint* channel, std::error_code ec);
  /// Destroys, without completing, every operation of `context` (its shutdown).
  void shutdown_context(const void* context);
  /// How many times a waiter thread has parked (for tests and the benchmark).
  std::uint64_t parks() const noexcept;
  /// How many operations have been registered (each one that found its channel not ready).
  std::uint64_t registrations() const noexcept;
  /// How many waiter threads run now.
  std::size_t threads() const noexcept;

  waiter(const waiter&) = delete;
  waiter& operator=(const waiter&) = delete;

 private:
  waiter();
  ~waiter() = delete;  // see above: it lives until the process ends
  void run(std::size_t shard);
  void start_thread_locked(std::size_t shard);
  struct sweep_result;
  sweep_result sweep_locked(std::chrono::steady_clock::time_point now);

  struct impl;
  impl* impl_;
};

/// An Asio service per execution context: on the context's shutdown, destroys the
/// operations that would complete on it.
class op_registry_service : public ::asio::execution_context::service {
 public:
  using key_type = op_registry_service;
  inline static ::asio::execution_context::id id;
  explicit op_registry_service(::asio::execution_context& ctx) : service(ctx) {}
  void shutdown() override { waiter::instance().shutdown_context(&context()); }
};

/// The operation for a handler: Attempt says what to try (recv or send) and how to
/// complete. Allocated with the handler's associated allocator.
template <class Handler, class IoExecutor, class State, class Attempt>
class channel_op final : public async_op {
 public:
  using handler_executor = ::asio::associated_executor_t<Handler, IoExecutor>;
  using result_type = typename Attempt::result_type;
  using allocator_type = typename std::allocator_traits<
      ::asio::associated_allocator_t<Handler>>::template rebind_alloc<channel_op>;

  /// Starts an operation: completes it (posted) at once when the channel is ready, else
  /// registers it with the waiter.
  static void start(Handler&& handler, const IoExecutor& io, std::shared_ptr<State> state,
                    Attempt attempt) {
    // The fast path: the channel is ready now. No operation state, no waiter: the
    // completion is posted to the handler's executor (never invoked from here), and
    // asio::post keeps the work counted until it runs.
    if (auto result = attempt.try_once(*state)) {
      auto ex = ::asio::get_associated_executor(handler, io);
      auto alloc = ::asio::get_associated_allocator(handler);
      ::asio::post(ex, ::asio::bind_allocator(alloc, [handler = std::move(handler),
                                                      result = std::move(*result)]() mutable {
        std::apply([&](auto&&... args) { std::move(handler)(std::forward<decltype(args)>(args)...); },
                   std::move(result));
      }));
      return;
    }
    allocator_type alloc(::asio::get_associated_allocator(handler));
    channel_op* op = std::allocator_traits<allocator_type>::allocate(alloc, 1);
    ::new (static_cast<void*>(op)) channel_op(std::move(handler), io, std::move(state), std::move(attempt));
    op->connect_cancellation();
    // Cancellation (now connected) or close() may come before the registration: add()
    // re-checks both under the waiter's lock.
    fault::at(fault::point::before_waiter_add);
    waiter::instance().add(op);
  }

  void post_run() override {
    handler_executor ex = ex_;
    ::asio::post(ex, runner{this});
  }
  void post_abort(std::error_code ec) override { post_complete(Attempt::failed(ec)); }
  void post_aborted() override { post_abort(::asio::error::operation_aborted); }
  void destroy() noexcept override {
    allocator_type alloc(alloc_);
    this->~channel_op();
    std::allocator_traits<allocator_type>::deallocate(alloc, this, 1);
  }

 private:
  // Owns the operation while it is queued on an executor; destroys it if never run.
  struct runner {
    channel_op* op;
    runner(channel_op* o) noexcept : op(o) {}
    runner(runner&& o) noexcept : op(std::exchange(o.op, nullptr)) {}
    runner& operator=(runner&&) = delete;
    ~runner() {
      if (op) op->destroy();
    }
    void operator()() { std::exchange(op, nullptr)->run(); }
  };
  struct completer {
    channel_op* op;
    result_type result;
    completer(channel_op* o, result_type r) noexcept : op(o), result(std::move(r)) {}
    completer(completer&& o) noexcept : op(std::exchange(o.op, nullptr)), result(std::move(o.result)) {}
    completer& operator=(completer&&) = delete;
    ~completer() {
      if (op) op->destroy();
    }
    void operator()() { std::exchange(op, nullptr)->complete(std::move(result)); }
  };

  channel_op(Handler&& handler, const IoExecutor& io, std::shared_ptr<State> state, Attempt attempt)
      : async_op(state->channel.endpoint(), state->life, Attempt::dir, attempt.amount(),
                 &context_of(::asio::get_associated_executor(handler, io), io), state->spin),
        handler_(std::move(handler)),
        ex_(::asio::get_associated_executor(handler_, io)),
        io_work_(io),
        handler_work_(ex_),
        alloc_(::asio::get_associated_allocator(handler_)),
        state_(std::move(state)),
        attempt_(std::move(attempt)) {
    // The context's shutdown must find our registry service (it destroys pending ops).
    ::asio::use_service<op_registry_service>(context_of(ex_, io));
  }

  // The execution context whose shutdown ends the operation: the handler executor's, or
  // the I/O executor's when the handler's has none (use_future's runs inline).
  static ::asio::execution_context& context_of(const handler_executor& ex, const IoExecutor& io) {
    if constexpr (::asio::can_query_v<const handler_executor&, ::asio::execution::context_t>) {
      return ::asio::query(ex, ::asio::execution::context);
    } else {
      return ::asio::query(io, ::asio::execution::context);
    }
  }

  void connect_cancellation() {
    auto slot = ::asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) {
      slot.template emplace<cancel_handler>(this);
    }
  }
  struct cancel_handler {
    channel_op* op;
    explicit cancel_handler(channel_op* o) : op(o) {}
    void operator()(::asio::cancellation_type type) {
      if (type == ::asio::cancellation_type::none) return;
      // Never completes from here: a waiting operation's completion is posted.
      waiter::instance().cancel(op, ::asio::error::operation_aborted);
    }
  };

  // On the handler's executor: try again, complete, or wait again.
  void run() {
    if (cancelled.load(std::memory_order_acquire)) {  // SYNC POINT: cancel flag
      complete(Attempt::failed(::asio::error::operation_aborted));
      return;
    }
    if (std::exchange(stall_check_due, false)) {
      if constexpr (Attempt::dir == direction::receive) state_->channel.endpoint().expire_recv_stall_clock();
      if constexpr (Attempt::dir == direction::send) state_->channel.endpoint().expire_send_stall_clock();
    }
    if (auto result = attempt_.try_once(*state_)) {
      complete(std::move(*result));
      return;
    }
    // A cancellation or close() arriving from here on finds the operation neither in the
    // waiter nor running its checks: add() re-checks both under the waiter's lock.
    fault::at(fault::point::before_waiter_add);
    waiter::instance().add(this);
  }

  void post_complete(result_type result) {
    handler_executor ex = ex_;
    ::asio::post(ex, completer{this, std::move(result)});
  }

  // Frees the operation before invoking the handler (Asio's rule: the memory can be
  // reused by the handler's next operation).
  void complete(result_type result) {
    auto slot = ::asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) slot.clear();
    Handler handler(std::move(handler_));
    auto work = std::move(handler_work_);
    destroy();
    std::apply([&](auto&&... args) { std::move(handler)(std::forward<decltype(args)>(args)...); },
               std::move(result));
    (void)work;
  }

  Handler handler_;
  handler_executor ex_;
  ::asio::executor_work_guard<IoExecutor> io_work_;
  ::asio::executor_work_guard<handler_executor> handler_work_;
  allocator_type alloc_;
  std::shared_ptr<State> state_;
  Attempt attempt_;
};

}  // namespace coipc::detail

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
    detail::waiter::instance().cancel_channel(&state_->channel.endpoint(), make_error_code(errc::closed));
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
    detail::fail(ec, errc::closed, "channel '" + st.channel.endpoint().name() + "': closed");
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
