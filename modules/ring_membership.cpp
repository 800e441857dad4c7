// coipc:endpoint, membership: senders and receivers taking a slot (a free one, or a dead
// owner's), leaving it, counting the receivers, and evicting a dead one. See "Connecting
// receivers" and "Crashes" in ring.cppm.
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

// ---- connecting and leaving ----------------------------------------------------------------
//
// A slot whose lock someone else holds while its owner word is free or names a dead (or
// settling) process is changing hands: a connector between its lock and its CAS, a leaver
// between its store and its unlock, a checker settling it. That takes microseconds, unless
// the process doing it is stopped there: such slots are looked at again for at most one
// stall timeout, then count as taken.

bool ring_sender::connect(ring_view& ring, std::error_code& ec) {
  const std::uint32_t slots = ring.options().kind == channel_kind::route ? 1 : ring.options().max_senders;
  const auto busy_until = std::chrono::steady_clock::now() + ring.options().stall_timeout;
  for (;;) {
    bool busy_seen = false;
    for (std::uint32_t id = 1; id <= slots; ++id) {
      sender_slot& slot = ring.sender_at(id);
      const std::uint32_t lock = slot_lock_index::of_sender(id);
      std::uint64_t cur = slot.owner.load(std::memory_order_acquire);  // SYNC POINT: slot owner
      const bool free = cur == 0;
      if (!free && !ring.owner_dead(lock, cur)) {
        if (cur & owner_token::transient_bit) {
          // A live process is settling a dead owner's claim here (microseconds): wait for
          // the slot to come free (as for a busy lock, above) rather than report it taken.
          busy_seen = true;
          continue;
        }
        if (ring.options().kind == channel_kind::route) {
          return detail::fail(ec, errc::sender_exists,
                              fmt::format("route '{}': already has a live sender (pid {})",
                                          ring.name(), owner_token::process(cur).pid));
        }
        continue;
      }
      // Free, or its owner (or settler) is dead: take it, the death signal first, so that
      // no checker ever sees us in the owner word without our lock.
      switch (ring.take_slot_lock(lock, ec)) {
        case ring_view::lock_take::taken: break;
        case ring_view::lock_take::busy: busy_seen = true; continue;
        case ring_view::lock_take::failed:
          return detail::fail_errno(
              ec, ec.value(), fmt::format("channel '{}': cannot lock sender slot {}", ring.name(), id));
      }
      // acq_rel: acquire the previous owner's intent, release our ownership, and with it
      // the lock taken before (SYNC POINT: slot owner).
      if (!slot.owner.compare_exchange_strong(cur, ring.token(), std::memory_order_acq_rel, std::memory_order_relaxed)) {
        ring.release_slot_lock(lock);
        --id;  // lost a race for this slot: look at it again
        continue;
      }
      id_ = id;
      ring.hold_own_slot(lock);
      // The dead owner may have left a claim behind. Nobody else settles it now: a checker
      // settles only while the slot still names the dead owner, which it no longer does.
      if (!free) ring.abandon_claim_of(id);
      // Release: pairs with other senders' acquire of the intent (SYNC POINT: intent).
      slot.intent_start.store(no_intent, std::memory_order_release);
      return true;
    }
    if (!busy_seen || std::chrono::steady_clock::now() >= busy_until) break;
    platform::yield_thread();
  }
  ec.clear();
  if (ring.options().kind == channel_kind::route) {
    return detail::fail(ec, errc::sender_exists,
                        fmt::format("route '{}': its sender slot is held by a live process",
                                    ring.name()));
  }
  return detail::fail(ec, errc::too_many_peers,
                      fmt::format("channel '{}': all {} sender slots are taken by live processes",
                                  ring.name(), slots));
}

void ring_sender::leave(ring_view& ring) noexcept {
  sender_slot& slot = ring.sender_at(id_);
  // An outstanding claim (a loan never committed) must not block the receivers.
  ring.abandon_claim_of(id_);
  claim_outstanding_ = false;
  // The owner word first, the death signal after: a checker that finds the lock free
  // then finds the word free too, or judges an owner that is gone indeed.
  slot.owner.store(0, std::memory_order_release);  // SYNC POINT: slot owner
  ring.drop_own_slot(slot_lock_index::of_sender(id_));
  ring.release_slot_lock(slot_lock_index::of_sender(id_));
  id_ = 0;
}

bool ring_receiver::connect(ring_view& ring, std::error_code& ec) {
  ring_control& ctl = ring.control();
  const auto busy_until = std::chrono::steady_clock::now() + ring.options().stall_timeout;
  for (;;) {
    bool busy_seen = false;
    for (std::uint32_t i = 0; i < ring.options().max_receivers; ++i) {
      receiver_slot& slot = ring.receiver_at(i);
      const std::uint32_t lock = slot_lock_index::of_receiver(i);
      std::uint64_t cur = slot.owner.load(std::memory_order_acquire);  // SYNC POINT: slot owner
      if (cur != 0 && !ring.owner_dead(lock, cur)) continue;
      // The death signal before the owner word, connecting step included (see "Crashes").
      switch (ring.take_slot_lock(lock, ec)) {
        case ring_view::lock_take::taken: break;
        case ring_view::lock_take::busy: busy_seen = true; continue;
        case ring_view::lock_take::failed:
          return detail::fail_errno(
              ec, ec.value(), fmt::format("channel '{}': cannot lock receiver slot {}", ring.name(), i));
      }
      // acq_rel: release our hold, and with it the lock taken before (SYNC POINT: slot owner).
      if (!slot.owner.compare_exchange_strong(cur, ring.token() | owner_token::transient_bit,
                                              std::memory_order_acq_rel, std::memory_order_relaxed)) {
        ring.release_slot_lock(lock);
        continue;
      }
      // See "Connecting receivers" above for why these orders make the start position safe.
      std::uint64_t p = tail_word::end(ctl.tail.load(std::memory_order_seq_cst));
      // Relaxed: published by the seq_cst owner store right after.
      slot.position.store(p, std::memory_order_relaxed);
      slot.owner.store(ring.token(), std::memory_order_seq_cst);  // SYNC POINT: slot owner
      std::uint64_t p2 = tail_word::end(ctl.tail.load(std::memory_order_seq_cst));
      slot.position.store(p2, std::memory_order_release);  // SYNC POINT: receiver release
      index_ = static_cast<std::int32_t>(i);
      ring.hold_own_slot(lock);
      read_position_ = p2;
      // Loss accounting baseline (overwrite policy): each sender's next sequence number.
      expected_seq_.assign(ring.options().max_senders + 1, 0);
      for (std::uint32_t id = 1; id <= ring.options().max_senders; ++id) {
        // Relaxed: a baseline; exact when no send is in flight while connecting.
        expected_seq_[id] = ring.sender_at(id).next_seq.load(std::memory_order_relaxed);
      }
      // Release: a waiter that sees the bump re-reads the slots (SYNC POINT: membership).
      ctl.membership.fetch_add(1, std::memory_order_release);
      platform::park_wake(ctl.membership, INT32_MAX);
      return true;
    }
    if (!busy_seen || std::chrono::steady_clock::now() >= busy_until) break;
    platform::yield_thread();
  }
  ec.clear();
  return detail::fail(ec, errc::too_many_peers,
                      fmt::format("channel '{}': all {} receiver slots are taken by live processes",
                                  ring.name(), ring.options().max_receivers));
}

void ring_receiver::leave(ring_view& ring) noexcept {
  ring_control& ctl = ring.control();
  const auto index = static_cast<std::uint32_t>(index_);
  // The owner word first, the death signal after (as in ring_sender::leave).
  ring.receiver_at(index).owner.store(0, std::memory_order_release);  // SYNC POINT: slot owner
  ring.drop_own_slot(slot_lock_index::of_receiver(index));
  ring.release_slot_lock(slot_lock_index::of_receiver(index));
  index_ = -1;
  ctl.membership.fetch_add(1, std::memory_order_release);  // SYNC POINT: membership
  platform::park_wake(ctl.membership, INT32_MAX);
  // Senders blocked on this receiver may go on now.
  notify_parked(ctl.space_wait, ctl.futex);
}

std::uint32_t ring_view::receiver_count() const noexcept {
  std::uint32_t n = 0;
  for (std::uint32_t i = 0; i < options_.max_receivers; ++i) {
    std::uint64_t o = receiver_at(i).owner.load(std::memory_order_acquire);  // SYNC POINT: slot owner
    if (o != 0 && !(o & owner_token::transient_bit) &&
        !owner_dead(slot_lock_index::of_receiver(i), o)) {
      ++n;
    }
  }
  return n;
}

void ring_view::evict_dead_receiver(std::uint32_t index, std::uint64_t judged_owner) const noexcept {
  fault::at(fault::point::after_death_check);
  ring_control& ctl = control();
  receiver_slot& slot = receiver_at(index);
  const std::uint32_t lock = slot_lock_index::of_receiver(index);
  // Under the slot's lock, by CAS on the owner we judged: a process that took the slot
  // meanwhile stays, and while we hold the lock nobody can write an owner, so a word still
  // equal to the judged one is the dead owner's, not that of another endpoint of the same
  // process that came back to the slot since the verdict. A lock we cannot take is a live
  // process's: one connecting, leaving or evicting here; it frees the ring itself (a
  // connector starts at the tail; see "Connecting receivers").
  std::error_code lock_ec;
  if (take_slot_lock(lock, lock_ec) != lock_take::taken) return;
  // acq_rel: release the freed slot to its next connector, as every owner change does
  // (SYNC POINT: slot owner).
  if (slot.owner.compare_exchange_strong(judged_owner, 0, std::memory_order_acq_rel, std::memory_order_relaxed)) {
    ctl.membership.fetch_add(1, std::memory_order_release);  // SYNC POINT: membership
    platform::park_wake(ctl.membership, INT32_MAX);
    // Senders parked for space behind it may go on now.
    notify_parked(ctl.space_wait, ctl.futex);
  }
  release_slot_lock(lock);
}

bool endpoint::wait_for_receivers(std::uint32_t n, wait_mode mode, std::error_code& ec) {
  ec.clear();
  if (!check_open(false, false, ec)) return false;
  ring_control& ctl = view_.control();
  mode.arm(std::chrono::steady_clock::now());
  for (;;) {
    // Acquire: pairs with the release bump of every join, leave and eviction (SYNC POINT:
    // membership); read before the count, so that a change after it moves the word and
    // the park below returns at once.
    std::uint32_t m = ctl.membership.load(std::memory_order_acquire);
    if (receiver_count() >= n) return true;
    auto left = mode.time_left(std::chrono::steady_clock::now());
    if (!mode.may_wait() || (left && *left <= std::chrono::nanoseconds::zero())) {
      return detail::fail(ec, errc::timeout,
                          fmt::format("channel '{}': {} receivers did not connect in time", name(), n));
    }
    // Bounded slices: a receiver that dies without leaving is only seen by polling.
    std::chrono::nanoseconds slice = std::chrono::milliseconds(50);
    if (left) slice = std::min(slice, *left);
    platform::park_wait(ctl.membership, m, slice);
  }
}

}  // namespace coipc::detail
