// The waiter: one dedicated thread per process that waits for every channel with pending
// asynchronous operations, so that threads running an io_context never spin or block.
//
// Loop: sweep the pending operations (post the ready ones back to their executors); if
// none was ready, run the SpinWait backoff (spin -> pause -> yield) re-sweeping; then park.
// Parking follows the park/wake protocol of coipc:wait over several words at once: announce
// on the waiter's own word (registrations and cancellations notify it) and on the wait cell
// of every channel with pending operations (fetch_or of the waiters bit), fence, sweep once
// more, and sleep on all the words with futex_waitv until any of them moves. Senders (for
// receives) and receivers (for sends) then wake the waiter only when it has announced, that
// is when it really sleeps. A channel whose peer is mid-way (a claim unpublished, a full
// ring) bounds the sleep by its stall timeout, so that dead peers are detected (by the
// operation's next attempt) even when nobody wakes the waiter.
module;
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>
module coipc.asio;

namespace coipc::detail {

struct waiter::impl {
  std::mutex mutex;
  std::vector<async_op*> ops;  // owned
  wait_cell own{};             // notified on registration and cancellation
  futex_counters own_counters{};
  std::atomic<std::uint64_t> parks{0};
  std::atomic<std::uint64_t> registrations{0};
  bool stopping = false;
  std::thread thread;
};

waiter& waiter::instance() {
  static waiter w;
  return w;
}

waiter::waiter() : impl_(std::make_unique<impl>()) {
  impl_->thread = std::thread([this] { run(); });
}

waiter::~waiter() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  notify_parked(impl_->own, impl_->own_counters);
  impl_->thread.join();
  // Operations still pending at exit belong to execution contexts that were never shut
  // down; completing or destroying them could touch those contexts, so they are left.
}

std::uint64_t waiter::parks() const noexcept {
  return impl_->parks.load(std::memory_order_relaxed);  // relaxed: a statistic
}

std::uint64_t waiter::registrations() const noexcept {
  return impl_->registrations.load(std::memory_order_relaxed);  // relaxed: a statistic
}

void waiter::add(async_op* op) {
  impl_->registrations.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
  {
    std::lock_guard lock(impl_->mutex);
    impl_->ops.push_back(op);
  }
  // The lock's release orders the push before this notification; the waiter re-sweeps
  // under the same lock after announcing, so it cannot sleep past a registration.
  notify_parked(impl_->own, impl_->own_counters);
}

bool waiter::cancel(async_op* op, std::error_code ec) {
  {
    std::lock_guard lock(impl_->mutex);
    auto it = std::find(impl_->ops.begin(), impl_->ops.end(), op);
    if (it != impl_->ops.end()) {
      impl_->ops.erase(it);
      op->post_abort(ec);
      return true;
    }
    // An attempt is in flight on the handler's executor: it sees the flag and completes
    // with operation_aborted without touching the channel.
    op->cancelled.store(true, std::memory_order_release);  // SYNC POINT: cancel flag
  }
  return false;
}

void waiter::cancel_channel(const endpoint* channel, std::error_code ec) {
  {
    std::lock_guard lock(impl_->mutex);
    auto& ops = impl_->ops;
    for (auto it = ops.begin(); it != ops.end();) {
      if ((*it)->channel() == channel) {
        (*it)->post_abort(ec);
        it = ops.erase(it);
      } else {
        ++it;
      }
    }
  }
  notify_parked(impl_->own, impl_->own_counters);  // it may be parked on that channel
}

void waiter::shutdown_context(const void* context) {
  std::vector<async_op*> doomed;
  {
    std::lock_guard lock(impl_->mutex);
    std::vector<async_op*> kept;
    for (async_op* op : impl_->ops) (op->context() == context ? doomed : kept).push_back(op);
    impl_->ops.swap(kept);
  }
  for (async_op* op : doomed) op->destroy();
  notify_parked(impl_->own, impl_->own_counters);
}

bool waiter::sweep_locked(bool& any_in_progress, std::chrono::nanoseconds& stall) {
  bool progressed = false;
  auto& ops = impl_->ops;
  for (std::size_t i = 0; i < ops.size();) {
    async_op* op = ops[i];
    switch (op->readiness()) {
      case endpoint::readiness::ready:
        ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(i));  // keeps registration order
        op->post_run();
        progressed = true;
        continue;
      case endpoint::readiness::in_progress:
        any_in_progress = true;
        stall = std::min(stall, op->stall_timeout());
        break;
      case endpoint::readiness::waiting:
        break;
    }
    ++i;
  }
  return progressed;
}

void waiter::run() {
  impl& s = *impl_;
  spin_wait backoff;
  std::vector<platform::park_target> targets;
  std::vector<futex_counters*> channels;
  for (;;) {
    bool any_in_progress = false;
    std::chrono::nanoseconds stall = std::chrono::nanoseconds::max();
    {
      std::lock_guard lock(s.mutex);
      if (s.stopping) return;
      if (sweep_locked(any_in_progress, stall)) {
        backoff.reset();
        continue;
      }
    }
    // Spin also while idle: right after posting an operation back, its coroutine usually
    // registers the next one within microseconds, and finding it awake spares the
    // io_context thread a FUTEX_WAKE. A long idle period exhausts the backoff and parks.
    if (backoff.spin()) continue;

    // Park: announce everywhere, re-check, sleep on all words at once.
    {
      std::lock_guard lock(s.mutex);
      if (s.stopping) return;
      targets.clear();
      channels.clear();
      // Acquire: pairs with notifiers' release CAS (SYNC POINT: wake).
      targets.push_back({&s.own.word, s.own.word.fetch_or(1u, std::memory_order_acquire) | 1u});
      for (async_op* op : s.ops) {
        if (!op->channel()->is_open()) continue;  // swept below
        wait_cell& cell = op->cell();
        bool seen = std::any_of(targets.begin(), targets.end(),
                                [&](const platform::park_target& t) { return t.word == &cell.word; });
        if (seen) continue;
        targets.push_back({&cell.word, cell.word.fetch_or(1u, std::memory_order_acquire) | 1u});
        channels.push_back(&op->counters());
      }
      std::atomic_thread_fence(std::memory_order_seq_cst);  // F1 of the park/wake protocol
      any_in_progress = false;
      stall = std::chrono::nanoseconds::max();
      if (sweep_locked(any_in_progress, stall)) {
        backoff.reset();
        continue;
      }
      // Relaxed: statistics.
      for (futex_counters* c : channels) c->waits.fetch_add(1, std::memory_order_relaxed);
    }
    s.parks.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    std::optional<std::chrono::nanoseconds> timeout;
    if (any_in_progress) timeout = stall;
    platform::park_wait_any(targets, timeout, std::chrono::milliseconds(1));
    backoff.reset();
  }
}

}  // namespace coipc::detail
