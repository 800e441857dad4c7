// coipc.asio:operation — the machinery behind coipc.asio's asynchronous operations: an
// operation's state (channel_op, allocated with its handler's allocator), what the waiter
// sees of it (async_op), the waiter that parks for all of them (waiter.cpp), the Asio
// service that ends them with their execution context, and the close protocol of an async
// channel (channel_life). The public face, module coipc.asio, builds async_recv/async_send
// on it; it sees a channel only through the core's seam, coipc::async_support::channel_port.
//
// An interface partition, not an implementation one: the templates here are instantiated
// in the users' translation units (by basic_async_channel's members), so their definitions
// must be reachable from there. The primary interface export-imports it, as the standard
// requires of every interface partition, yet nothing here is exported: basic_async_channel
// names these declarations in its own definition, where they are visible, and reachability
// is all its instantiations need. Users can neither name nor depend on them; their public
// window is coipc::asio_waiter_stats().
module;
#include <asio.hpp>
#include <asio/bind_allocator.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <system_error>
#include <tuple>
#include <utility>
export module coipc.asio:operation;
import coipc;

namespace coipc::detail {

/// When an async channel's endpoint may be closed. close() must leave the channel (free
/// its slot) at once, as the blocking close() does, but attempts may be running on other
/// io_context threads and the waiter may be reading the endpoint. So: close() marks the
/// channel closed (no attempt starts after that, and the waiter accepts no registration),
/// has the waiter drop its pending operations ("swept"), and the endpoint is closed by
/// whoever comes last: close() itself when no attempt is in flight, else the last attempt
/// to finish. Inline members: every attempt, the fast path's included, enters and leaves.
class channel_life {
 public:
  /// Before an attempt touches the endpoint; false once closed (the attempt must not).
  inline bool enter() noexcept {
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
  [[nodiscard]] inline bool leave() noexcept {
    // acq_rel: our endpoint accesses happen before whoever closes it (SYNC POINT: channel life).
    const std::uint32_t v = word_.fetch_sub(1, std::memory_order_acq_rel);
    return (v & swept_bit) && (v & count_mask) == 1 && claim_finish();
  }
  /// First call true; later calls false (close is idempotent).
  inline bool mark_closed() noexcept {
    // acq_rel: see enter() and the waiter's closed() (SYNC POINT: channel life).
    return !(word_.fetch_or(closed_bit, std::memory_order_acq_rel) & closed_bit);
  }
  /// The waiter holds no operation of the channel any more; true when the caller must
  /// close the endpoint now (no attempt in flight).
  [[nodiscard]] inline bool mark_swept() noexcept {
    // acq_rel: the waiter's last look at the endpoint happens before whoever closes it, and
    // we see the attempts that left before (SYNC POINT: channel life).
    const std::uint32_t v = word_.fetch_or(swept_bit, std::memory_order_acq_rel);
    return (v & count_mask) == 0 && claim_finish();
  }
  inline bool closed() const noexcept {
    // Acquire: pairs with mark_closed's release (SYNC POINT: channel life).
    return word_.load(std::memory_order_acquire) & closed_bit;
  }

 private:
  // Exactly one caller closes the endpoint. acq_rel: whoever wins sees every access of the
  // other side, which made its own release on this word before (SYNC POINT: channel life).
  inline bool claim_finish() noexcept {
    return !(word_.fetch_or(finished_bit, std::memory_order_acq_rel) & finished_bit);
  }
  static constexpr std::uint32_t closed_bit = 1u << 31, swept_bit = 1u << 30,
                                 finished_bit = 1u << 29, count_mask = finished_bit - 1;
  std::atomic<std::uint32_t> word_{0};
};

/// A pending asynchronous operation, as the waiter sees it. Owned by exactly one of: the
/// initiating call, the waiter's list, a function posted to the handler's executor.
/// Inline accessors: the waiter's sweeps read them for every pending operation.
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
  async_op(async_support::channel_port port, const channel_life& life, direction dir,
           std::size_t amount, const void* context, spin_policy spin) noexcept
      : port_(port), life_(life), dir_(dir), amount_(amount), context_(context), spin_(spin) {}
  async_op(const async_op&) = delete;
  async_op& operator=(const async_op&) = delete;

  /// Waiter, under its lock: whether the channel would let the operation progress now.
  inline async_support::readiness readiness() const noexcept {
    using async_support::readiness;
    if (!port_.is_open()) return readiness::ready;  // run() reports the close
    switch (dir_) {
      case direction::receive: return port_.receive_readiness();
      case direction::send: return port_.send_readiness(amount_);
      case direction::receivers:
        return port_.receiver_count() >= amount_ ? readiness::ready : readiness::waiting;
    }
    return readiness::ready;
  }
  inline watch watched() const noexcept {
    switch (dir_) {
      case direction::receive: return {&port_.data_cell().word, &port_.data_cell(), &port_.counters()};
      case direction::send: return {&port_.space_cell().word, &port_.space_cell(), &port_.counters()};
      case direction::receivers: return {&port_.membership_word(), nullptr, nullptr};
    }
    return {&port_.membership_word(), nullptr, nullptr};
  }
  inline std::chrono::nanoseconds stall_timeout() const noexcept { return port_.stall_timeout(); }
  /// A receive: parked with nothing to read, it looks again every stall_timeout anyway.
  inline bool looks_again_when_idle() const noexcept { return dir_ == direction::receive; }
  inline async_support::channel_port channel() const noexcept { return port_; }
  inline const void* context() const noexcept { return context_; }
  /// Whether its channel was closed (then the waiter must not keep it).
  inline bool channel_closed() const noexcept { return life_.closed(); }
  /// The spin policy of its channel's options (the waiter spins for the longest).
  inline spin_policy spin() const noexcept { return spin_; }

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
  async_support::channel_port port_;
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
  void cancel_channel(async_support::channel_port channel, std::error_code ec);
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
      : async_op(state->channel.port(), state->life, Attempt::dir, attempt.amount(),
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
      if constexpr (Attempt::dir == direction::receive) state_->channel.port().expire_recv_stall_clock();
      if constexpr (Attempt::dir == direction::send) state_->channel.port().expire_send_stall_clock();
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
