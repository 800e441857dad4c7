// coipc:ring, membership: senders and receivers taking a slot (a free one, or a dead
// owner's), leaving it, and counting the receivers. See "Connecting receivers" and
// "Crashes" in ring.cppm.
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

bool endpoint::connect_sender(std::error_code& ec) {
  const std::uint32_t slots = options_.kind == channel_kind::route ? 1 : options_.max_senders;
  const auto busy_until = std::chrono::steady_clock::now() + options_.stall_timeout;
  for (;;) {
    bool busy_seen = false;
    for (std::uint32_t id = 1; id <= slots; ++id) {
      sender_slot& slot = sender_at(id);
      const std::uint32_t lock = slot_lock_index::of_sender(id);
      std::uint64_t cur = slot.owner.load(std::memory_order_acquire);  // SYNC POINT: slot owner
      const bool free = cur == 0;
      if (!free && !owner_dead(lock, cur)) {
        if (cur & owner_token::transient_bit) {
          // A live process is settling a dead owner's claim here (microseconds): wait for
          // the slot to come free (as for a busy lock, above) rather than report it taken.
          busy_seen = true;
          continue;
        }
        if (options_.kind == channel_kind::route) {
          return detail::fail(ec, errc::sender_exists,
                              fmt::format("route '{}': already has a live sender (pid {})",
                                          name(), owner_token::process(cur).pid));
        }
        continue;
      }
      // Free, or its owner (or settler) is dead: take it, the death signal first, so that
      // no checker ever sees us in the owner word without our lock.
      switch (take_slot_lock(lock, ec)) {
        case lock_take::taken: break;
        case lock_take::busy: busy_seen = true; continue;
        case lock_take::failed:
          return detail::fail_errno(
              ec, ec.value(), fmt::format("channel '{}': cannot lock sender slot {}", name(), id));
      }
      // acq_rel: acquire the previous owner's intent, release our ownership, and with it
      // the lock taken before (SYNC POINT: slot owner).
      if (!slot.owner.compare_exchange_strong(cur, token_, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        release_slot_lock(lock);
        --id;  // lost a race for this slot: look at it again
        continue;
      }
      sender_id_ = id;
      // The dead owner may have left a claim behind. Nobody else settles it now: a checker
      // settles only while the slot still names the dead owner, which it no longer does.
      if (!free) abandon_claim_of(id);
      // Release: pairs with other senders' acquire of the intent (SYNC POINT: intent).
      slot.intent_start.store(no_intent, std::memory_order_release);
      return true;
    }
    if (!busy_seen || std::chrono::steady_clock::now() >= busy_until) break;
    platform::yield_thread();
  }
  ec.clear();
  if (options_.kind == channel_kind::route) {
    return detail::fail(ec, errc::sender_exists,
                        fmt::format("route '{}': its sender slot is held by a live process",
                                    name()));
  }
  return detail::fail(ec, errc::too_many_peers,
                      fmt::format("channel '{}': all {} sender slots are taken by live processes",
                                  name(), slots));
}

void endpoint::release_sender_slot() noexcept {
  sender_slot& slot = sender_at(sender_id_);
  // An outstanding claim (a loan never committed) must not block the receivers.
  abandon_claim_of(sender_id_);
  claim_outstanding_ = false;
  // The owner word first, the death signal after: a checker that finds the lock free
  // then finds the word free too, or judges an owner that is gone indeed.
  slot.owner.store(0, std::memory_order_release);  // SYNC POINT: slot owner
  release_slot_lock(slot_lock_index::of_sender(sender_id_));
  sender_id_ = 0;
}

bool endpoint::connect_receiver(std::error_code& ec) {
  ring_control& ctl = control();
  const auto busy_until = std::chrono::steady_clock::now() + options_.stall_timeout;
  for (;;) {
    bool busy_seen = false;
    for (std::uint32_t i = 0; i < options_.max_receivers; ++i) {
      receiver_slot& slot = receiver_at(i);
      const std::uint32_t lock = slot_lock_index::of_receiver(i);
      std::uint64_t cur = slot.owner.load(std::memory_order_acquire);  // SYNC POINT: slot owner
      if (cur != 0 && !owner_dead(lock, cur)) continue;
      // The death signal before the owner word, connecting step included (see "Crashes").
      switch (take_slot_lock(lock, ec)) {
        case lock_take::taken: break;
        case lock_take::busy: busy_seen = true; continue;
        case lock_take::failed:
          return detail::fail_errno(
              ec, ec.value(), fmt::format("channel '{}': cannot lock receiver slot {}", name(), i));
      }
      // acq_rel: release our hold, and with it the lock taken before (SYNC POINT: slot owner).
      if (!slot.owner.compare_exchange_strong(cur, token_ | owner_token::transient_bit,
                                              std::memory_order_acq_rel, std::memory_order_relaxed)) {
        release_slot_lock(lock);
        continue;
      }
      // See "Connecting receivers" above for why these orders make the start position safe.
      std::uint64_t p = tail_word::end(ctl.tail.load(std::memory_order_seq_cst));
      // Relaxed: published by the seq_cst owner store right after.
      slot.position.store(p, std::memory_order_relaxed);
      slot.owner.store(token_, std::memory_order_seq_cst);  // SYNC POINT: slot owner
      std::uint64_t p2 = tail_word::end(ctl.tail.load(std::memory_order_seq_cst));
      slot.position.store(p2, std::memory_order_release);  // SYNC POINT: receiver release
      receiver_index_ = static_cast<std::int32_t>(i);
      read_position_ = p2;
      // Loss accounting baseline (overwrite policy): each sender's next sequence number.
      expected_seq_.assign(options_.max_senders + 1, 0);
      for (std::uint32_t id = 1; id <= options_.max_senders; ++id) {
        // Relaxed: a baseline; exact when no send is in flight while connecting.
        expected_seq_[id] = sender_at(id).next_seq.load(std::memory_order_relaxed);
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
                                  name(), options_.max_receivers));
}

void endpoint::release_receiver_slot() noexcept {
  ring_control& ctl = control();
  const auto index = static_cast<std::uint32_t>(receiver_index_);
  // The owner word first, the death signal after (as in release_sender_slot).
  receiver_at(index).owner.store(0, std::memory_order_release);  // SYNC POINT: slot owner
  release_slot_lock(slot_lock_index::of_receiver(index));
  receiver_index_ = -1;
  ctl.membership.fetch_add(1, std::memory_order_release);  // SYNC POINT: membership
  platform::park_wake(ctl.membership, INT32_MAX);
  // Senders blocked on this receiver may go on now.
  notify_parked(ctl.space_wait, ctl.futex);
}

std::uint32_t endpoint::receiver_count() const noexcept {
  if (!base_ || closed_) return 0;
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

void endpoint::evict_dead_receiver(std::uint32_t index, std::uint64_t judged_owner) noexcept {
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
  ring_control& ctl = control();
  for (;;) {
    // Acquire: pairs with the release bump of every join, leave and eviction (SYNC POINT:
    // membership); read before the count, so that a change after it moves the word and
    // the park below returns at once.
    std::uint32_t m = ctl.membership.load(std::memory_order_acquire);
    if (receiver_count() >= n) return true;
    auto left = mode.time_left();
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
