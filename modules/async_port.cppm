// coipc:async_port — what a coroutine layer (module coipc.asio) may see of a channel: the
// seam between the core and an event-loop integration, so that the layer never reaches
// into the endpoint's internals.
//
// A layer that waits for many channels on a thread of its own (coipc.asio's waiter) needs,
// per channel: whether a call would make progress now (readiness), the futex words to park
// on (the wait cells, the membership word) with the counters their parks are charged to,
// the bound after which a stalled peer must be checked (stall_timeout), a way to have the
// next call check it at once (the stall-clock expiry), and is_open/name for reporting. It
// performs the calls themselves through the channel's own try_ API, on the thread that
// owns the channel; nothing here sends or receives.
//
// channel_port is a non-owning handle (one pointer) to a channel's endpoint, obtained from
// basic_channel::port(). The endpoint never moves while its channel lives (moving the
// channel moves only its ownership), so a port stays valid as long as the channel object,
// or what it was moved into, lives. Like a pointer, a const port still reaches a mutable
// endpoint.
module;
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
export module coipc:async_port;
import :wait;
import :ring;
import :endpoint;

export namespace coipc::async_support {

/// Whether a call on a channel would make progress now, as a waiter on another thread sees
/// it: ready (try the call: it progresses or reports an error), waiting (park until woken),
/// in_progress (a peer is mid-way: park at most stall_timeout()).
using readiness = detail::readiness;

/// A channel as a coroutine layer sees it. The readiness and wait-word accessors may be
/// called from any thread (they read shared memory, and state that changes only while a
/// receive or send call runs on the channel); the stall-clock expiries only where a call
/// on the channel could run.
class channel_port {
 public:
  /// For the core's front ends (basic_channel::port()).
  inline explicit channel_port(detail::endpoint& ep) noexcept : ep_(&ep) {}

  /// Whether a receive would make progress now.
  inline readiness receive_readiness() const noexcept { return ep_->receive_readiness(); }
  /// Whether a send of `length` bytes would make progress now.
  inline readiness send_readiness(std::size_t length) const noexcept { return ep_->send_readiness(length); }
  /// Receivers connected now.
  inline std::uint32_t receiver_count() const noexcept { return ep_->receiver_count(); }

  /// The cell receivers park on, announced through coipc:wait's protocol (senders wake it).
  inline detail::wait_cell& data_cell() const noexcept { return ep_->data_cell(); }
  /// The cell senders park on (receivers wake it as they make space).
  inline detail::wait_cell& space_cell() const noexcept { return ep_->space_cell(); }
  /// The channel's futex counters: a park on its cells is charged to them.
  inline detail::futex_counters& counters() const noexcept { return ep_->counters(); }
  /// A plain futex word, bumped and woken on every change (a receiver connects or leaves):
  /// park on the value read before re-checking, no announcement.
  inline std::atomic<std::uint32_t>& membership_word() const noexcept { return ep_->membership_word(); }

  /// How long a peer may stay mid-way before a call checks whether it is alive.
  inline std::chrono::nanoseconds stall_timeout() const noexcept { return ep_->stall_timeout(); }
  /// Makes the next receive (send) call that finds a peer stalled check its life at once:
  /// the layer measured the stall itself. Call it where a receive (send) call could run,
  /// on the thread that would run it.
  inline void expire_recv_stall_clock() const noexcept { ep_->expire_recv_stall_clock(); }
  inline void expire_send_stall_clock() const noexcept { ep_->expire_send_stall_clock(); }

  inline bool is_open() const noexcept { return ep_->is_open(); }
  inline const std::string& name() const noexcept { return ep_->name(); }

  /// The same channel (endpoint).
  friend inline bool operator==(const channel_port&, const channel_port&) = default;

 private:
  detail::endpoint* ep_;
};

}  // namespace coipc::async_support
