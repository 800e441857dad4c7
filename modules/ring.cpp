// coipc:endpoint, the endpoint's life cycle (opening a channel's segment, closing, moving)
// and the view's slot locks, which tell a dead owner from a live one. The algorithm's essay
// is in ring.cppm; membership, sending and receiving are in ring_membership.cpp,
// ring_send.cpp and ring_receive.cpp.
module;
#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fmt/format.h>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>
module coipc;

namespace coipc::detail {

namespace {
constexpr std::chrono::nanoseconds min_stall_timeout = std::chrono::milliseconds(1);

std::size_t align_up(std::size_t n, std::size_t a) { return (n + a - 1) / a * a; }
}  // namespace

ring_layout ring_layout::of(const segment_geometry& g) {
  ring_layout l{};
  l.units = g.ring_bytes / unit_bytes;
  l.lap_shift = static_cast<std::uint32_t>(std::countr_zero(l.units));
  l.senders_offset = sizeof(ring_control);
  l.receivers_offset = l.senders_offset + std::size_t{g.max_senders} * sizeof(sender_slot);
  l.entries_offset = l.receivers_offset + std::size_t{g.max_receivers} * sizeof(receiver_slot);
  l.data_offset = align_up(l.entries_offset + l.units * sizeof(frame_entry), cache_line);
  l.body_size = l.data_offset + l.units * unit_bytes;
  return l;
}

// ---- endpoint: life cycle ----------------------------------------------------------------

endpoint::endpoint(endpoint&& o) noexcept { *this = std::move(o); }

endpoint& endpoint::operator=(endpoint&& o) noexcept {
  if (this != &o) {
    close();
    segment_ = std::move(o.segment_);
    view_ = std::exchange(o.view_, ring_view{});
    sender_ = std::exchange(o.sender_, ring_sender{});
    receiver_ = std::exchange(o.receiver_, ring_receiver{});
    closed_ = std::exchange(o.closed_, false);
  }
  return *this;
}

endpoint::~endpoint() { close(); }

bool endpoint::open(std::string_view name, const type_fingerprint& type,
                    const ring_options& options, bool as_sender, bool as_receiver,
                    std::error_code& ec) {
  ec.clear();
  auto invalid = [&](std::string why) {
    return detail::fail(ec, errc::invalid_argument, fmt::format("channel '{}': {}", name, why));
  };
  const std::size_t capacity = options.capacity;
  if (capacity < 4096 || !std::has_single_bit(capacity) || capacity > (std::size_t{1} << 40)) {
    return invalid(fmt::format("capacity {} B must be a power of two from 4096 B to 1 TiB", capacity));
  }
  const std::size_t max_frame_units = units_for(options.max_message_size);
  if (max_frame_units > capacity / unit_bytes / 2 || max_frame_units > stamp::max_units) {
    return invalid(fmt::format("max message size {} B must be at most half the capacity ({} B)",
                               options.max_message_size, capacity));
  }
  if (options.max_receivers < 1 || options.max_receivers > 4096) {
    return invalid(fmt::format("max receivers {} must be from 1 to 4096", options.max_receivers));
  }
  if (options.max_senders < 1 || options.max_senders > 255) {
    return invalid(fmt::format("max senders {} must be from 1 to 255", options.max_senders));
  }
  // Shorter than a liveness check is not meaningful: a stalled call would do nothing but
  // check its peers' lives.
  if (options.stall_timeout < min_stall_timeout) {
    return invalid(fmt::format("stall timeout {} ns is below the minimum of 1 ms",
                               options.stall_timeout.count()));
  }

  segment_geometry g;
  g.kind = static_cast<std::uint32_t>(options.kind);
  g.overflow_policy = static_cast<std::uint32_t>(options.policy);
  g.ring_bytes = capacity;
  g.max_message_size = options.max_message_size;
  g.max_receivers = options.max_receivers;
  g.max_senders = options.max_senders;
  const ring_layout layout = ring_layout::of(g);
  g.body_size = layout.body_size;

  // A new segment's body is all zeros, which is the ring's valid empty state: tail at 0,
  // every slot free, every entry stale (lap tag 0 never matches).
  view_ = ring_view{};
  view_.name_ = std::string(name);
  segment_ = segment::open(name, type, g, options.segment, nullptr, ec);
  if (ec) return false;
  view_.base_ = segment_.body().data();
  view_.layout_ = layout;
  view_.options_ = options;
  view_.fd_ = segment_.fd();
  const platform::process_id me = platform::this_process();
  if (me.start_time == 0) {
    close();
    return detail::fail(ec, errc::system_error,
                        fmt::format("channel '{}': cannot read this process's start time from "
                                    "/proc/self/stat (out of file descriptors?): refusing to join "
                                    "with an identity peers could not verify",
                                    name));
  }
  view_.token_ = owner_token::of(me);
  closed_ = false;
  if (as_sender && !sender_.connect(view_, ec)) {
    close();
    return false;
  }
  if (as_receiver && !receiver_.connect(view_, ec)) {
    close();
    return false;
  }
  return true;
}

void endpoint::close(bool keep_mapping) noexcept {
  if (view_.is_mapped() && !closed_) {
    if (sender_.connected()) sender_.leave(view_);  // settles an outstanding loan's claim too
    if (receiver_.connected()) receiver_.leave(view_);
    closed_ = true;
  }
  // Loans and views taken from this endpoint may still point into the mapping.
  if (!keep_mapping && view_.is_mapped()) {
    segment_ = segment();
    view_.base_ = nullptr;
    view_.fd_ = -1;
  }
}

bool endpoint::check_open_failed(bool want_sender, std::error_code& ec) const {
  if (!view_.is_mapped() || closed_) {
    return detail::fail(ec, errc::closed,
                        closed_ ? fmt::format("channel '{}': used after close()", name())
                                : std::string("channel endpoint used before it was opened"));
  }
  return detail::fail(ec, errc::wrong_role,
                      fmt::format("channel '{}': endpoint was not opened to {}", name(),
                                  want_sender ? "send" : "receive"));
}

// ---- ring_view: slot owners' lives -------------------------------------------------------

void ring_view::hold_own_slot(std::uint32_t lock_index) noexcept {
  (lock_index < slot_lock_index::of_receiver(0) ? own_sender_lock_ : own_receiver_lock_) = lock_index;
}

void ring_view::drop_own_slot(std::uint32_t lock_index) noexcept {
  (lock_index < slot_lock_index::of_receiver(0) ? own_sender_lock_ : own_receiver_lock_) = no_lock;
}

bool ring_view::owner_dead(std::uint32_t lock_index, std::uint64_t owner) const noexcept {
  // Our own description never conflicts with itself: the query would say "free".
  if (lock_index == own_sender_lock_ || lock_index == own_receiver_lock_) return false;
  if (!platform::is_alive(owner_token::process(owner))) return true;  // proven: fast path
  // /proc says alive, or cannot say. The lock can: nobody holds it, so the process the
  // word names is dead (see the invariant in "Crashes").
  return platform::query_slot_lock(fd_, lock_index) == platform::slot_lock_state::free;
}

ring_view::lock_take ring_view::take_slot_lock(std::uint32_t lock_index,
                                               std::error_code& ec) const noexcept {
  if (platform::take_slot_lock(fd_, lock_index, ec)) return lock_take::taken;
  return platform::slot_lock_taken_elsewhere(ec) ? lock_take::busy : lock_take::failed;
}

void ring_view::release_slot_lock(std::uint32_t lock_index) const noexcept {
  platform::release_slot_lock(fd_, lock_index);
}

channel_stats ring_view::stats() const noexcept {
  // Relaxed: statistics.
  return {control().futex.waits.load(std::memory_order_relaxed),
          control().futex.wakes.load(std::memory_order_relaxed)};
}

}  // namespace coipc::detail
