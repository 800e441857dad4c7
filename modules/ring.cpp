// coipc:ring, the endpoint's life cycle: opening a channel's segment, closing, moving, and
// the slot locks that tell a dead owner from a live one. The algorithm's essay is in
// ring.cppm; membership, sending and receiving are in ring_membership.cpp, ring_send.cpp
// and ring_receive.cpp.
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
    name_ = std::move(o.name_);
    base_ = std::exchange(o.base_, nullptr);
    layout_ = o.layout_;
    options_ = o.options_;
    max_message_ = o.max_message_;
    token_ = o.token_;
    sender_id_ = std::exchange(o.sender_id_, 0);
    receiver_index_ = std::exchange(o.receiver_index_, -1);
    read_position_ = o.read_position_;
    cached_min_ = o.cached_min_;
    lost_ = o.lost_;
    expected_seq_ = std::move(o.expected_seq_);
    recv_stall_at_ = o.recv_stall_at_;
    send_stall_at_ = o.send_stall_at_;
    closed_ = std::exchange(o.closed_, false);
    claim_outstanding_ = std::exchange(o.claim_outstanding_, false);
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
  layout_ = ring_layout::of(g);
  g.body_size = layout_.body_size;

  // A new segment's body is all zeros, which is the ring's valid empty state: tail at 0,
  // every slot free, every entry stale (lap tag 0 never matches).
  name_ = std::string(name);
  segment_ = segment::open(name, type, g, options.segment, nullptr, ec);
  if (ec) return false;
  base_ = segment_.body().data();
  options_ = options;
  max_message_ = options.max_message_size;
  const platform::process_id me = platform::this_process();
  if (me.start_time == 0) {
    close();
    return detail::fail(ec, errc::system_error,
                        fmt::format("channel '{}': cannot read this process's start time from "
                                    "/proc/self/stat (out of file descriptors?): refusing to join "
                                    "with an identity peers could not verify",
                                    name));
  }
  token_ = owner_token::of(me);
  closed_ = false;
  if (as_sender && !connect_sender(ec)) {
    close();
    return false;
  }
  if (as_receiver && !connect_receiver(ec)) {
    close();
    return false;
  }
  return true;
}

void endpoint::close(bool keep_mapping) noexcept {
  if (base_ && !closed_) {
    if (sender_id_) release_sender_slot();  // settles an outstanding loan's claim too
    if (receiver_index_ >= 0) release_receiver_slot();
    closed_ = true;
  }
  // Loans and views taken from this endpoint may still point into the mapping.
  if (!keep_mapping && base_) {
    segment_ = segment();
    base_ = nullptr;
  }
}

bool endpoint::check_open_failed(bool want_sender, std::error_code& ec) const {
  if (!base_ || closed_) {
    return detail::fail(ec, errc::closed,
                        closed_ ? fmt::format("channel '{}': used after close()", name_)
                                : std::string("channel endpoint used before it was opened"));
  }
  return detail::fail(ec, errc::wrong_role,
                      fmt::format("channel '{}': endpoint was not opened to {}", name(),
                                  want_sender ? "send" : "receive"));
}


// ---- slot owners' lives ----------------------------------------------------------------------

bool endpoint::holds_slot_lock(std::uint32_t lock_index) const noexcept {
  return (sender_id_ != 0 && lock_index == slot_lock_index::of_sender(sender_id_)) ||
         (receiver_index_ >= 0 &&
          lock_index == slot_lock_index::of_receiver(static_cast<std::uint32_t>(receiver_index_)));
}

bool endpoint::owner_dead(std::uint32_t lock_index, std::uint64_t owner) const noexcept {
  // Our own description never conflicts with itself: the query would say "free".
  if (holds_slot_lock(lock_index)) return false;
  if (!platform::is_alive(owner_token::process(owner))) return true;  // proven: fast path
  // /proc says alive, or cannot say. The lock can: nobody holds it, so the process the
  // word names is dead (see the invariant in "Crashes").
  return platform::query_slot_lock(segment_.fd(), lock_index) == platform::slot_lock_state::free;
}

endpoint::lock_take endpoint::take_slot_lock(std::uint32_t lock_index,
                                             std::error_code& ec) const noexcept {
  if (platform::take_slot_lock(segment_.fd(), lock_index, ec)) return lock_take::taken;
  return platform::slot_lock_taken_elsewhere(ec) ? lock_take::busy : lock_take::failed;
}

void endpoint::release_slot_lock(std::uint32_t lock_index) const noexcept {
  platform::release_slot_lock(segment_.fd(), lock_index);
}

channel_stats endpoint::stats() const noexcept {
  if (!base_) return {};
  // Relaxed: statistics.
  return {control().futex.waits.load(std::memory_order_relaxed),
          control().futex.wakes.load(std::memory_order_relaxed)};
}

}  // namespace coipc::detail
