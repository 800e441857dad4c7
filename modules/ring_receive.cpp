// coipc:endpoint, receiving: finding the next frame, waiting for it, skipping what was lapped,
// releasing it and counting losses (overwrite). See "Publishing and reading" and
// "Overwrite policy" in ring.cppm.
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

// ---- receiving -------------------------------------------------------------------------------

namespace {

// A stamp's frame checked against the ring before anyone reads it (a hostile or corrupt
// segment may say anything): its units lie within one lap from r, and a published frame's
// length within its units and the channel's largest message.
inline bool units_fit(const ring_view& ring, std::uint64_t r, std::uint32_t units) noexcept {
  return units != 0 && (r & (ring.units() - 1)) + units <= ring.units();
}
inline bool length_fits(const ring_view& ring, std::uint32_t units, std::uint32_t length) noexcept {
  return length <= std::uint64_t{units} * unit_bytes && length <= ring.options().max_message_size;
}
/// The published frame at r, from its stamp `e` and info word, once both are checked.
inline frame_ref published_frame(const ring_view& ring, std::uint64_t r, std::uint64_t e,
                                 std::uint64_t info) noexcept {
  return {r, stamp::units(e), static_cast<std::uint32_t>(info), stamp::sender(e),
          static_cast<std::uint32_t>(info >> 32), ring.data_at(r)};
}

}  // namespace

void ring_receiver::advance(const ring_view& ring, std::uint64_t new_position) noexcept {
  read_position_ = new_position;
  ring.receiver_at(static_cast<std::uint32_t>(index_))
      .position.store(new_position, std::memory_order_release);  // SYNC POINT: receiver release
  if (ring.gates_on_receivers()) {
    notify_parked(ring.control().space_wait, ring.control().futex);
  }
}

ring_receiver::next_frame_result ring_receiver::find_next_frame(const ring_view& ring, frame_ref& frame,
                                                                 std::uint32_t& in_progress_by) noexcept {
  ring_control& ctl = ring.control();
  // Under overwrite, whether the frame at r may have been overwritten since we looked at
  // it: then what looked inconsistent was a lap in progress, not corruption. The fence
  // orders our reads of the entry before the tail load (see claim()'s release fence).
  auto lapped = [&](std::uint64_t r) {
    if (!ring.may_be_lapped()) return false;
    std::atomic_thread_fence(std::memory_order_acquire);
    // Relaxed: ordered by the fence above.
    return tail_word::end(ctl.tail.load(std::memory_order_relaxed)) > r + ring.units();
  };
  for (;;) {
    const std::uint64_t r = read_position_;
    if (lapped(r)) {
      skip_lapped(ring);
      continue;
    }
    frame_entry& entry = ring.entry_at(r);
    const std::uint32_t tag = ring.tag_at(r);
    const std::uint64_t e = entry.stamp.load(std::memory_order_acquire);  // SYNC POINT: frame publish
    switch (relation(stamp::tag(e), tag)) {
      case lap_relation::same: {
        const std::uint32_t units = stamp::units(e);
        const frame_state state = stamp::state(e);
        // Relaxed: ordered by the stamp's acquire above.
        const std::uint64_t info = entry.info.load(std::memory_order_relaxed);
        const auto length = static_cast<std::uint32_t>(info);
        const bool bad_units = !units_fit(ring, r, units);
        const bool bad_length = state == frame_state::published && !length_fits(ring, units, length);
        if (bad_units || bad_length) {
          if (lapped(r)) continue;
          return next_frame_result::corrupt;
        }
        switch (state) {
          case frame_state::published:
            frame = published_frame(ring, r, e, info);
            return next_frame_result::ready;
          case frame_state::padding:
          case frame_state::abandoned:
            advance(ring, r + units);
            continue;
          case frame_state::claimed:
            in_progress_by = stamp::sender(e);
            return next_frame_result::in_progress;
        }
        return next_frame_result::corrupt;
      }
      case lap_relation::ahead: {
        // A later lap's frame at r: lapped. Impossible under block (senders wait for us)
        // and impossible at or beyond the tail: there it is garbage.
        // Acquire (SYNC POINT: claim), though only the value matters.
        if (!ring.may_be_lapped() ||
            r >= tail_word::end(ctl.tail.load(std::memory_order_acquire))) {
          return next_frame_result::corrupt;
        }
        skip_lapped(ring);
        continue;
      }
      case lap_relation::behind: {
        // Acquire (SYNC POINT: claim), though only the value matters: whether a claim
        // reaches past r, and whose.
        const std::uint64_t t = ctl.tail.load(std::memory_order_acquire);
        if (tail_word::end(t) > r) {
          in_progress_by = tail_word::claimer(t);  // claimed, not yet recorded
          return next_frame_result::in_progress;
        }
        return next_frame_result::empty;
      }
    }
  }
}

void ring_receiver::skip_lapped(const ring_view& ring) noexcept {
  ring_control& ctl = ring.control();
  // Acquire (SYNC POINT: claim): the stamps read below are of claims up to this tail.
  const std::uint64_t end = tail_word::end(ctl.tail.load(std::memory_order_acquire));
  std::uint64_t from = std::max(read_position_ + 1, end > ring.units() ? end - ring.units() + 1 : 0);
  std::uint64_t next = end;
  // The oldest frame start still in the ring: an entry stamped with its own lap.
  for (std::uint64_t u = from; u < end; ++u) {
    // Acquire: a stamp written by a release (SYNC POINT: frame publish); find_next_frame
    // reads the frame it finds again from its stamp.
    const std::uint64_t e = ring.entry_at(u).stamp.load(std::memory_order_acquire);
    if (stamp::tag(e) == ring.tag_at(u) && stamp::units(e) != 0) {
      next = u;
      break;
    }
  }
  advance(ring, next);
}

void ring_receiver::settle_claim_if_dead(const ring_view& ring, std::uint32_t claimer) const noexcept {
  if (claimer == 0 || claimer > ring.options().max_senders) return;
  const std::uint64_t o = ring.sender_at(claimer).owner.load(std::memory_order_acquire);  // SYNC POINT: slot owner
  // Free: whoever left or settled the slot settled its claim first.
  if (o == 0) return;
  // Slow, not dead (a live settler too: it is settling the claim right now).
  if (!ring.owner_dead(slot_lock_index::of_sender(claimer), o)) return;
  // Dead (a settler that died half way included): settle its claim so that everyone can
  // go on, unless the slot changed hands.
  ring.settle_dead_sender(claimer, o);
}

bool ring_receiver::intact(const ring_view& ring, const frame_ref& frame) const noexcept {
  if (!ring.may_be_lapped()) return true;
  std::atomic_thread_fence(std::memory_order_acquire);  // the payload reads come before
  return tail_word::end(ring.control().tail.load(std::memory_order_relaxed)) <=  // relaxed: after the fence
         frame.position + ring.units();
}

bool ring_receiver::begin_read(const ring_view& ring, const wait_mode& mode, frame_ref& frame,
                               std::error_code& ec) {
  // The fast path (block policy): a published frame of this lap at our position, checked as
  // find_next_frame checks it. Anything else (padding, a claim in progress, nothing yet, a
  // frame out of bounds, and every frame under overwrite) takes the general loop below.
  if (!ring.may_be_lapped()) {
    const std::uint64_t r = read_position_;
    frame_entry& entry = ring.entry_at(r);
    // Acquire: pairs with the publishing release (SYNC POINT: frame publish).
    const std::uint64_t e = entry.stamp.load(std::memory_order_acquire);
    if (stamp::is_published_of(e, ring.tag_at(r))) {
      const std::uint32_t units = stamp::units(e);
      // Relaxed: ordered by the stamp's acquire above.
      const std::uint64_t info = entry.info.load(std::memory_order_relaxed);
      const auto length = static_cast<std::uint32_t>(info);
      if (units_fit(ring, r, units) && length_fits(ring, units, length)) {
        frame = published_frame(ring, r, e, info);
        stall_at_.reset();
        return true;
      }
    }
  }
  ring_control& ctl = ring.control();
  // Made at the first miss: a call that finds its message at once pays nothing for it.
  std::optional<wait_ladder> ladder;
  for (;;) {
    std::uint32_t by = 0;
    switch (find_next_frame(ring, frame, by)) {
      case next_frame_result::ready:
        stall_at_.reset();
        return true;
      case next_frame_result::corrupt:
        return detail::fail(ec, errc::corrupt_segment,
                            fmt::format("channel '{}': corrupt frame at position {}", ring.name(),
                                        read_position_));
      case next_frame_result::empty:
        stall_at_.reset();
        break;
      case next_frame_result::in_progress: break;
    }
    // A claim in progress at our position holds us: past stall_timeout, check its claimer.
    if (!ladder) {
      ladder.emplace(mode, ring.options().spin, ring.options().stall_timeout, stall_at_,
                     ring.options().stall_timeout);
    }
    switch (ladder->after_miss(
        by != 0, [&] { settle_claim_if_dead(ring, by); }, ctl.data_wait, ctl.futex,
        [&] { return receive_readiness(ring) == readiness::ready; })) {
      case wait_ladder::verdict::retry: continue;
      case wait_ladder::verdict::would_block:
        return detail::fail(ec, errc::would_block, fmt::format("channel '{}': no message", ring.name()));
      case wait_ladder::verdict::timed_out:
        return detail::fail(ec, errc::timeout, fmt::format("channel '{}': no message in time", ring.name()));
    }
  }
}

readiness ring_receiver::receive_readiness(const ring_view& ring) const noexcept {
  const std::uint64_t r = read_position_;
  // Acquire: pairs with the publishing release (SYNC POINT: frame publish).
  const std::uint64_t e = ring.entry_at(r).stamp.load(std::memory_order_acquire);
  switch (relation(stamp::tag(e), ring.tag_at(r))) {
    case lap_relation::same:
      return stamp::state(e) == frame_state::claimed ? readiness::in_progress : readiness::ready;
    case lap_relation::ahead:
      return readiness::ready;  // lapped or garbage: the next call finds out which
    case lap_relation::behind:
      break;
  }
  // Acquire (SYNC POINT: claim), though only the value matters.
  const std::uint64_t end = tail_word::end(ring.control().tail.load(std::memory_order_acquire));
  return end > r ? readiness::in_progress : readiness::waiting;
}

bool ring_receiver::end_read(const ring_view& ring, frame_ref& frame, bool known_intact) noexcept {
  if (!frame || index_ < 0) return false;
  bool was_intact = true;
  if (ring.may_be_lapped()) {
    // Loss accounting only for frames known intact: an overwritten frame's info may
    // already be another frame's (the check comes after every read of it). An overwritten
    // frame is counted by the gap before its sender's next intact frame.
    was_intact = known_intact || intact(ring, frame);
    if (was_intact && frame.sender < expected_seq_.size()) {
      const std::uint32_t gap = frame.seq - expected_seq_[frame.sender];
      if (gap < (1u << 31)) lost_ += gap;  // else: older than the baseline (see connect)
      expected_seq_[frame.sender] = frame.seq + 1;
    }
  }
  if (frame.position == read_position_) advance(ring, frame.position + frame.units);
  frame = {};
  return was_intact;
}

// ---- endpoint: its receiving calls -------------------------------------------------------

bool endpoint::begin_read(const wait_mode& mode, frame_ref& frame, std::error_code& ec) {
  if (ec) ec.clear();  // (clear() calls out of line: skipped when already clear)
  if (!check_open(false, true, ec)) return false;
  [[clang::always_inline]] return receiver_.begin_read(view_, mode, frame, ec);
}

bool endpoint::intact(const frame_ref& frame) const noexcept { return receiver_.intact(view_, frame); }

bool endpoint::end_read(frame_ref& frame, bool known_intact) noexcept {
  [[clang::always_inline]] return receiver_.end_read(view_, frame, known_intact);
}

endpoint::readiness endpoint::receive_readiness() const noexcept {
  return receiver_.receive_readiness(view_);
}

}  // namespace coipc::detail
