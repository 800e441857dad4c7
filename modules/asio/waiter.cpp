// The waiter: dedicated threads that wait for every channel with pending asynchronous
// operations, so that threads running an io_context never spin or block.
//
// Loop (each thread): sweep the pending operations (post the ready ones back to their
// executors); if none was ready, run the SpinWait backoff (spin -> pause -> yield; the first
// thread only, with the longest spin policy among the pending operations' channels)
// re-sweeping; then park. Parking is the waiter's side of coipc:wait's park/wake protocol
// over several words at once, from the same steps as park_once: announce() on the waiters'
// own word (registrations and cancellations notify it) and on the wait cell of each channel
// of this thread's share, park_fence() (F1), sweep once more, and sleep on all those words
// with futex_waitv until any of them moves. Senders (for receives) and receivers (for
// sends) then wake a waiter only when it has announced, that is when it really sleeps.
//
// Shares: futex_waitv takes at most 128 words, so thread k parks on its own word plus the
// channels k*127 .. k*127+126 of the pending channels in registration order. A thread is
// started the first time that many channels are pending, and an idle one parks on its own
// word alone (zero CPU). Every thread sweeps all operations when it wakes: a sweep is cheap
// next to a wake-up, and any thread can hand any operation back. Handing operations back
// moves the shares, so a thread that did notifies the own word: the others wake and take
// their new shares (tests/model/ checks this in a model of two threads).
//
// Dead peers: a channel whose peer is mid-way (a claim unpublished, a ring full) is
// "in progress". The sleep is bounded by the earliest moment such an operation has been in
// progress for its channel's stall_timeout; the operation is then handed back to its
// executor, whose attempt checks the peer's life exactly as a blocking call does. So
// asynchronous operations recover from a dead peer within the same bound, without polling.
module;
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>
module coipc.asio;
import :operation;

namespace coipc::detail {

struct waiter::impl {
  std::mutex mutex;
  std::vector<async_op*> ops;  // owned, in registration order
  std::vector<std::thread> threads;
  wait_cell own{};             // notified on registration and cancellation; shared by all threads
  futex_counters own_counters{};
  std::atomic<std::uint64_t> parks{0};
  std::atomic<std::uint64_t> registrations{0};
  std::atomic<std::size_t> thread_count{0};
};

struct waiter::sweep_result {
  bool progressed = false;
  // The earliest moment an in-progress operation reaches its stall timeout.
  std::optional<std::chrono::steady_clock::time_point> next_stall_check;
  // The distinct futex words of the channels still pending, in registration order.
  std::vector<async_op::watch> watches;
  spin_policy longest_spin{0, 0};
};

waiter& waiter::instance() {
  // Deliberately leaked (never destroyed): io_contexts of static storage duration are
  // destroyed after function-local statics constructed later, and their shutdown calls
  // shutdown_context(). The threads park on a futex and end with the process.
  static waiter* const w = new waiter;
  return *w;
}

waiter::waiter() : impl_(new impl) {
  std::lock_guard lock(impl_->mutex);
  start_thread_locked(0);
}

void waiter::start_thread_locked(std::size_t shard) {
  impl_->threads.emplace_back([this, shard] { run(shard); });
  impl_->threads.back().detach();  // lives as long as the process
  impl_->thread_count.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
}

std::uint64_t waiter::parks() const noexcept {
  return impl_->parks.load(std::memory_order_relaxed);  // relaxed: a statistic
}

std::uint64_t waiter::registrations() const noexcept {
  return impl_->registrations.load(std::memory_order_relaxed);  // relaxed: a statistic
}

std::size_t waiter::threads() const noexcept {
  return impl_->thread_count.load(std::memory_order_relaxed);  // relaxed: a statistic
}

void waiter::add(async_op* op) {
  impl_->registrations.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
  {
    std::lock_guard lock(impl_->mutex);
    // A cancellation or close() that came while the operation's attempt ran found it in no
    // list (cancel() then set the flag under this lock; close() marked the channel closed
    // before taking it): complete it now, or it would wait for the next message.
    // Acquire: pairs with cancel()'s release store (SYNC POINT: cancel flag).
    if (op->cancelled.load(std::memory_order_acquire)) {
      op->post_aborted();
      return;
    }
    if (op->channel_closed()) {
      op->post_run();  // its attempt reports the close (errc::closed, naming the channel)
      return;
    }
    op->in_progress_since.reset();
    impl_->ops.push_back(op);
  }
  // The lock's release orders the push before this notification; a waiter re-sweeps under
  // the same lock after announcing, so it cannot sleep past a registration.
  notify_parked(impl_->own, impl_->own_counters);
}

bool waiter::cancel(async_op* op, std::error_code ec) {
  {
    std::unique_lock lock(impl_->mutex);
    auto it = std::find(impl_->ops.begin(), impl_->ops.end(), op);
    if (it != impl_->ops.end()) {
      impl_->ops.erase(it);
      op->post_abort(ec);
      lock.unlock();
      // The removal moves the shares, as a hand-back does: the other threads must take
      // their new ones (found by the SPIN model of the sharded waiter).
      notify_parked(impl_->own, impl_->own_counters);
      return true;
    }
    // An attempt is in flight on the handler's executor: it sees the flag (before it
    // completes, or in add() under this lock) and completes with operation_aborted
    // without touching the channel.
    op->cancelled.store(true, std::memory_order_release);  // SYNC POINT: cancel flag
  }
  return false;
}

void waiter::cancel_channel(async_support::channel_port channel, std::error_code ec) {
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
  notify_parked(impl_->own, impl_->own_counters);  // a thread may be parked on that channel
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

waiter::sweep_result waiter::sweep_locked(std::chrono::steady_clock::time_point now) {
  sweep_result r;
  auto& ops = impl_->ops;
  for (std::size_t i = 0; i < ops.size();) {
    async_op* op = ops[i];
    bool hand_back = false;
    switch (op->readiness()) {
      case async_support::readiness::ready:
        hand_back = true;
        break;
      case async_support::readiness::in_progress: {
        if (!op->in_progress_since) op->in_progress_since = now;
        const auto check_at = *op->in_progress_since + op->stall_timeout();
        if (now >= check_at) {
          // Its attempt checks the stalled peer's life at once, whatever the attempt's own
          // stall clock says (it may have started later than ours).
          op->stall_check_due = true;
          hand_back = true;
        } else if (!r.next_stall_check || check_at < *r.next_stall_check) {
          r.next_stall_check = check_at;
        }
        break;
      }
      case async_support::readiness::waiting: {
        op->in_progress_since.reset();
        // A receive looks again every stall_timeout: a sender killed between publishing
        // and its wake-up leaves a message that nobody announces.
        if (op->looks_again_when_idle()) {
          const auto look_at = now + op->stall_timeout();
          if (!r.next_stall_check || look_at < *r.next_stall_check) r.next_stall_check = look_at;
        }
        break;
      }
    }
    if (hand_back) {
      ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(i));  // keeps registration order
      op->post_run();
      r.progressed = true;
      continue;
    }
    if (op->channel().is_open()) {
      const async_op::watch w = op->watched();
      bool seen = std::any_of(r.watches.begin(), r.watches.end(), [&](auto& x) { return x.word == w.word; });
      if (!seen) r.watches.push_back(w);
    }
    r.longest_spin.spin_rounds = std::max(r.longest_spin.spin_rounds, op->spin().spin_rounds);
    r.longest_spin.yield_rounds = std::max(r.longest_spin.yield_rounds, op->spin().yield_rounds);
    ++i;
  }
  return r;
}

void waiter::run(std::size_t shard) {
  impl& s = *impl_;
  spin_wait backoff;
  std::vector<platform::park_target> targets;
  std::vector<futex_counters*> announced;  // the channels' counters of our share
  // After handing operations back, the shares move (they follow registration order): the
  // other threads, parked on their old shares, must take their new ones, or a channel that
  // moved from one share to another would be watched by nobody (found by the SPIN model
  // of the sharded waiter).
  auto reshare = [&](bool progressed) {
    if (progressed && s.thread_count.load(std::memory_order_relaxed) > 1) {  // relaxed: a hint
      notify_parked(s.own, s.own_counters);
    }
  };
  for (;;) {
    {
      std::unique_lock lock(s.mutex);
      sweep_result r = sweep_locked(std::chrono::steady_clock::now());
      if (r.progressed) {
        lock.unlock();
        reshare(true);
        backoff.reset();
        continue;
      }
      // The backoff of the longest policy among the pending channels (issue: a channel's
      // spin options must count for the coroutines on it too).
      backoff.set_policy(r.longest_spin);
    }
    // Spin also while idle (first thread only): right after posting an operation back,
    // its coroutine usually registers the next one within microseconds, and finding the
    // waiter awake spares the io_context thread a FUTEX_WAKE. A long idle period exhausts
    // the backoff and parks.
    if (shard == 0 && backoff.spin()) continue;

    // Park: announce on our share, re-check, sleep on all its words at once.
    std::optional<std::chrono::steady_clock::time_point> wake_at;
    {
      std::unique_lock lock(s.mutex);
      const auto now = std::chrono::steady_clock::now();
      sweep_result r = sweep_locked(now);
      if (r.progressed) {
        lock.unlock();
        reshare(true);
        backoff.reset();
        continue;
      }
      // Enough threads for every pending channel to be parked on by one of them.
      const std::size_t needed =
          std::max<std::size_t>(1, (r.watches.size() + channels_per_thread - 1) / channels_per_thread);
      while (s.threads.size() < needed) start_thread_locked(s.threads.size());

      targets.clear();
      announced.clear();
      // Announce (A of coipc:wait's protocol) on each cell: its notifiers wake us from now on.
      targets.push_back({&s.own.word, announce(s.own)});
      const std::size_t first = shard * channels_per_thread;
      const std::size_t last = std::min(r.watches.size(), first + channels_per_thread);
      for (std::size_t i = first; i < last; ++i) {
        const async_op::watch& w = r.watches[i];
        if (w.cell) {
          targets.push_back({w.word, announce(*w.cell)});
          announced.push_back(w.counters);
        } else {
          // A plain word woken on every change: park on the value read before the re-check
          // below. Acquire: pairs with the connecting receiver's release increment (SYNC
          // POINT: membership), so a re-check that misses the receiver means the word has
          // moved since this value, and the futex returns at once.
          targets.push_back({w.word, w.word->load(std::memory_order_acquire)});
        }
      }
      park_fence();  // F1, once for every announcement above; the re-check follows
      r = sweep_locked(std::chrono::steady_clock::now());
      if (r.progressed) {
        lock.unlock();
        reshare(true);
        backoff.reset();
        continue;
      }
      // Relaxed: statistics. (The counters of the channels announced on, not of this
      // sweep's list, which a channel closed meanwhile may have shortened.)
      for (futex_counters* c : announced) c->waits.fetch_add(1, std::memory_order_relaxed);
      // Only the first thread keeps the stall clocks: the others would wake for nothing.
      if (shard == 0) wake_at = r.next_stall_check;
    }
    s.parks.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    std::optional<std::chrono::nanoseconds> timeout;
    if (wake_at) {
      timeout = std::max(std::chrono::nanoseconds::zero(),
                         std::chrono::duration_cast<std::chrono::nanoseconds>(
                             *wake_at - std::chrono::steady_clock::now()));
    }
    platform::park_wait_any(targets, timeout, std::chrono::milliseconds(1));
    backoff.reset();
  }
}

}  // namespace coipc::detail
