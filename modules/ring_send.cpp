// coipc:endpoint, sending: the space gate (the slowest live receiver, other senders' claims),
// claiming, publishing, abandoning, and settling a dead sender's claim. See "Claiming
// space", "Publishing and reading" and "Crashes" in ring.cppm.
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

// ---- sending -----------------------------------------------------------------------------

std::uint64_t ring_sender::lowest_in_use(const ring_view& ring) const noexcept {
  ring_control& ctl = ring.control();
  // seq_cst: ordered with a connecting receiver's owner store and tail re-read (see
  // "Connecting receivers"): a slot this scan misses starts at or after this tail.
  const std::uint64_t end = tail_word::end(ctl.tail.load(std::memory_order_seq_cst));
  std::uint64_t lowest = end;  // nobody reading or writing: nothing holds the senders back
  if (ring.gates_on_receivers()) {
    for (std::uint32_t i = 0; i < ring.options().max_receivers; ++i) {
      const receiver_slot& slot = ring.receiver_at(i);
      // seq_cst: ordered with the connector's owner store (see "Connecting receivers").
      const std::uint64_t o = slot.owner.load(std::memory_order_seq_cst);  // SYNC POINT: slot owner
      if (o == 0 || (o & owner_token::transient_bit)) continue;
      lowest = std::min(lowest, slot.position.load(std::memory_order_acquire));  // SYNC POINT: receiver release
    }
  }
  // Other senders' claims still being written: their frames' memory must not be reused
  // either (under overwrite too, or a slow writer would tear a newer frame).
  for (std::uint32_t id = 1; id <= ring.options().max_senders; ++id) {
    if (id == id_) continue;
    const sender_slot& slot = ring.sender_at(id);
    const std::uint64_t o = slot.owner.load(std::memory_order_acquire);  // SYNC POINT: slot owner
    // Acquire: "no intent" means the claimer's writes into its frame are done; pairs with
    // the release store of no_intent in commit and abandon_claim_of (SYNC POINT: intent).
    const std::uint64_t claim = slot.intent_start.load(std::memory_order_acquire);
    if (o == 0 || claim == no_intent) continue;
    lowest = std::min(lowest, claim);
  }
  return lowest;
}

void ring_sender::reclaim_from_dead(const ring_view& ring, std::uint64_t below) const noexcept {
  if (ring.gates_on_receivers()) {
    for (std::uint32_t i = 0; i < ring.options().max_receivers; ++i) {
      const receiver_slot& slot = ring.receiver_at(i);
      const std::uint64_t o = slot.owner.load(std::memory_order_acquire);  // SYNC POINT: slot owner
      if (o == 0 || (o & owner_token::transient_bit)) continue;
      // Acquire: the position the owner released last (SYNC POINT: receiver release).
      if (slot.position.load(std::memory_order_acquire) >= below) continue;
      if (ring.owner_dead(slot_lock_index::of_receiver(i), o)) ring.evict_dead_receiver(i, o);
    }
  }
  for (std::uint32_t id = 1; id <= ring.options().max_senders; ++id) {
    if (id == id_) continue;
    const sender_slot& slot = ring.sender_at(id);
    const std::uint64_t o = slot.owner.load(std::memory_order_acquire);  // SYNC POINT: slot owner
    // Acquire: as in lowest_in_use (SYNC POINT: intent).
    const std::uint64_t claim = slot.intent_start.load(std::memory_order_acquire);
    if (o == 0 || claim == no_intent || claim >= below) continue;
    // A dead owner's claim, or a dead settler's (transient): settle it (again).
    if (ring.owner_dead(slot_lock_index::of_sender(id), o)) ring.settle_dead_sender(id, o);
  }
}

bool ring_sender::has_space(const ring_view& ring, std::uint64_t end, std::uint32_t need) noexcept {
  if (end + need <= cached_min_ + ring.units()) return true;
  cached_min_ = lowest_in_use(ring);
  return end + need <= cached_min_ + ring.units();
}

void ring_sender::record_latest_claim(const ring_view& ring, std::uint64_t tail) const noexcept {
  const std::uint32_t c = tail_word::claimer(tail);
  const std::uint64_t end = tail_word::end(tail);
  // Our own latest claim is settled whenever we claim again (one claim at a time; a slot
  // taken over had its claim settled then): nothing to record. Always so on a route.
  if (c == id_ || c == 0 || c > ring.options().max_senders) return;
  sender_slot& slot = ring.sender_at(c);
  // The claimer wrote its intent before its tail CAS, and we acquired that tail (SYNC
  // POINT: claim): the intent is visible. Acquire as well: "no intent" means that claim
  // is published or settled (SYNC POINT: intent).
  const std::uint64_t start = slot.intent_start.load(std::memory_order_acquire);
  const std::uint32_t units = slot.intent_units.load(std::memory_order_relaxed);  // relaxed: same release
  if (start == no_intent || start + units != end || units == 0 ||
      (start & (ring.units() - 1)) + units > ring.units()) {
    return;  // that claim is recorded already (the claimer moved on)
  }
  frame_entry& entry = ring.entry_at(start);
  const std::uint32_t tag = ring.tag_at(start);
  // Acquire: a stamp of this lap was written by a release (SYNC POINT: frame publish); we
  // only need its value (stale or not), the CAS below re-checks it.
  std::uint64_t e = entry.stamp.load(std::memory_order_acquire);
  if (relation(stamp::tag(e), tag) == lap_relation::behind) {
    // Release: the recorded claim is read by receivers with acquire (SYNC POINT: frame publish).
    entry.stamp.compare_exchange_strong(e, stamp::pack(tag, frame_state::claimed, c, units),
                                        std::memory_order_release, std::memory_order_relaxed);
  }
}

bool ring_sender::claim_units(const ring_view& ring, std::uint32_t units, frame_state initial,
                              const wait_mode& mode, std::uint64_t& start, std::error_code& ec) {
  ring_control& ctl = ring.control();
  sender_slot& me = ring.sender_at(id_);
  // A full ring always holds the sender back (the stall clock bounds every park).
  // Made at the first miss: a claim that finds space at once pays nothing for it.
  std::optional<wait_ladder> ladder;
  for (;;) {
    // Acquire: pairs with the tail CAS of the claimer it names, which published its intent
    // (SYNC POINT: claim); record_latest_claim reads that intent.
    std::uint64_t t = ctl.tail.load(std::memory_order_acquire);
    record_latest_claim(ring, t);
    const std::uint64_t end = tail_word::end(t);
    const std::uint64_t index = end & (ring.units() - 1);
    // A frame never wraps: claim the rest of the lap as padding first.
    const bool pad = index + units > ring.units();
    const auto claim_units = pad ? static_cast<std::uint32_t>(ring.units() - index) : units;
    const frame_state state = pad ? frame_state::padding : initial;

    if (!has_space(ring, end, claim_units)) {
      // Under block: a receiver is a whole ring behind. Under overwrite (and block):
      // another sender is still writing a frame a whole ring behind. Past stall_timeout,
      // evict the dead among the peers that hold the ring (those behind the position the
      // claim needs freed). Every transition that frees space notifies space_wait: a
      // receiver moving on or leaving or evicted, a sender committing or abandoning its
      // claim, a dead sender's claim settled.
      auto check_stall = [&] {
        reclaim_from_dead(ring, end + claim_units - ring.units());
        cached_min_ = lowest_in_use(ring);
      };
      auto space_now = [&] {
        // seq_cst: as in lowest_in_use (the re-check after announcing a park).
        return has_space(ring, tail_word::end(ctl.tail.load(std::memory_order_seq_cst)), claim_units);
      };
      if (!ladder) ladder.emplace(mode, ring.options().spin, ring.options().stall_timeout, stall_at_, std::nullopt);
      switch (ladder->after_miss(true, check_stall, ctl.space_wait, ctl.futex, space_now)) {
        case wait_ladder::verdict::retry: continue;
        case wait_ladder::verdict::would_block:
          return detail::fail(ec, errc::would_block, fmt::format("channel '{}': ring full", ring.name()));
        case wait_ladder::verdict::timed_out:
          return detail::fail(ec, errc::timeout,
                              fmt::format("channel '{}': no space for the message in time (a "
                                          "receiver is a whole ring behind)",
                                          ring.name()));
      }
    }

    // Relaxed: both are published by the tail CAS below, a release (SYNC POINT: claim).
    me.intent_units.store(claim_units, std::memory_order_relaxed);
    me.intent_start.store(end, std::memory_order_relaxed);
    // seq_cst: a release that publishes our intent to the next claimer (SYNC POINT: claim),
    // and ordered with connecting receivers' tail loads (see "Connecting receivers").
    if (!ctl.tail.compare_exchange_strong(t, tail_word::pack(end + claim_units, id_),
                                          std::memory_order_seq_cst, std::memory_order_relaxed)) {
      // Another sender claimed first. Withdraw the intent: while we wait for space, it
      // must not look like a claim in progress to the others (see lowest_in_use).
      me.intent_start.store(no_intent, std::memory_order_relaxed);  // relaxed: a retraction only
      continue;
    }
    fault::at(fault::point::after_tail_cas);
    if (!pad && !ring.may_be_lapped()) {
      // No need to record our own claim: while it is the latest, tail names us; once
      // another sender claims after it, that sender records it first (the invariant).
      // Publishing will overwrite the stamp directly. Saves a CAS per message.
      stall_at_.reset();
      start = end;
      return true;
    }
    // Record the claim (a helper may have recorded it as claimed already).
    frame_entry& entry = ring.entry_at(end);
    const std::uint32_t tag = ring.tag_at(end);
    const std::uint64_t want = stamp::pack(tag, state, id_, claim_units);
    std::uint64_t e = entry.stamp.load(std::memory_order_relaxed);  // relaxed: CAS re-checks
    while (e != want) {
      const bool stale = relation(stamp::tag(e), tag) == lap_relation::behind;
      const bool ours_claimed = e == stamp::pack(tag, frame_state::claimed, id_, claim_units);
      if (!stale && !ours_claimed) break;  // overwritten by a later lap (overwrite policy)
      // Release: receivers acquire the stamp (SYNC POINT: frame publish).
      if (entry.stamp.compare_exchange_weak(e, want, std::memory_order_release,
                                            std::memory_order_relaxed)) {
        break;
      }
    }
    if (pad) {
      me.intent_start.store(no_intent, std::memory_order_relaxed);  // relaxed: recorded above
      notify_parked(ctl.data_wait, ctl.futex);
      continue;  // now claim the frame itself at the start of the next lap
    }
    stall_at_.reset();
    start = end;
    return true;
  }
}

bool ring_sender::claim(const ring_view& ring, std::size_t length, const wait_mode& mode, frame_ref& frame,
                        std::error_code& ec) {
  if (length > ring.options().max_message_size) {
    return detail::fail(ec, errc::message_too_large,
                        fmt::format("channel '{}': message of {} B exceeds the maximum of {} B",
                                    ring.name(), length, ring.options().max_message_size));
  }
  if (claim_outstanding_) {
    return detail::fail(ec, errc::loan_outstanding,
                        fmt::format("channel '{}': this endpoint's previous loan is still "
                                    "outstanding; commit or drop it before sending or loaning "
                                    "again (one claim at a time per sender)",
                                    ring.name()));
  }
  const std::uint32_t units = units_for(length);
  std::uint64_t start = 0;
  if (!claim_units(ring, units, frame_state::claimed, mode, start, ec)) return false;
  claim_outstanding_ = true;
  if (ring.may_be_lapped()) {
    // Orders our tail CAS before every write into the frame, so that a receiver that reads
    // any of those writes and then (after an acquire fence) the tail sees the claim and
    // knows its copy is torn (see intact()).
    std::atomic_thread_fence(std::memory_order_release);
  }
  frame = {start, units, static_cast<std::uint32_t>(length), id_, 0, ring.data_at(start)};
  return true;
}

void ring_sender::commit(const ring_view& ring, frame_ref& frame, std::size_t length) noexcept {
  // A loan that outlived close(), or whose claim close() settled: nothing to publish.
  // (close() clears claim_outstanding_; a never-opened endpoint has none; a frame of
  // another endpoint or an empty one has another sender id.)
  if (!claim_outstanding_ || frame.sender != id_) {
    frame = {};
    return;
  }
  fault::at(fault::point::before_publish);
  sender_slot& me = ring.sender_at(id_);
  frame_entry& entry = ring.entry_at(frame.position);
  const std::uint32_t tag = ring.tag_at(frame.position);
  // Relaxed: single writer (this slot's owner).
  const std::uint32_t seq = me.next_seq.load(std::memory_order_relaxed);
  // Relaxed: published by the stamp's release below.
  entry.info.store(std::uint64_t{seq} << 32 | static_cast<std::uint32_t>(length),
                   std::memory_order_relaxed);
  // The number is used up before the stamp says "published" (the release below keeps this
  // store before it): a sender killed after publishing must not leave its number to its
  // successor in this slot, or a receiver that got this frame would take the successor's
  // first frame for the next one it expects and count one loss too few. Killed between the
  // two, the number goes unused: overwrite receivers count that unfinished send as lost.
  // Relaxed: single writer; receivers read it only as a baseline at connect.
  me.next_seq.store(seq + 1, std::memory_order_relaxed);
  const std::uint64_t published = stamp::pack(tag, frame_state::published, id_, frame.units);
  if (!ring.may_be_lapped()) {
    entry.stamp.store(published, std::memory_order_release);  // SYNC POINT: frame publish
  } else {
    // Under overwrite the frame may have been lapped by now: never clobber a newer stamp.
    std::uint64_t claimed = stamp::pack(tag, frame_state::claimed, id_, frame.units);
    entry.stamp.compare_exchange_strong(claimed, published, std::memory_order_release,  // SYNC POINT: frame publish
                                        std::memory_order_relaxed);
  }
  fault::at(fault::point::after_publish);
  // Release: our payload stores happen before another sender that acquires "no intent"
  // reuses this memory (SYNC POINT: intent). Relaxed would let them drift past it on Arm.
  me.intent_start.store(no_intent, std::memory_order_release);
  claim_outstanding_ = false;
  frame = {};
  ring.notify_data_and_space();
}

void ring_sender::abandon(const ring_view& ring, frame_ref& frame) noexcept {
  if (!frame) return;
  // Only the frame this endpoint's outstanding claim is about: a loan that outlived close()
  // (close settled it) or a stale frame_ref settles nothing.
  if (claim_outstanding_ && frame.sender == id_ &&
      ring.sender_at(id_).intent_start.load(std::memory_order_relaxed) == frame.position) {  // relaxed: we wrote it
    ring.abandon_claim_of(id_);
    claim_outstanding_ = false;
  }
  frame = {};
}

bool ring_sender::send(const ring_view& ring, std::span<const std::byte> payload, const wait_mode& mode,
                       std::error_code& ec) {
  frame_ref frame;
  // Inlined (the loan's claim and commit stay calls of their own): a copying send is the
  // common case, and this saves two calls a message.
  bool claimed;
  [[clang::always_inline]] claimed = claim(ring, payload.size(), mode, frame, ec);
  if (!claimed) return false;
  if (!payload.empty()) std::memcpy(frame.data, payload.data(), payload.size());
  [[clang::always_inline]] commit(ring, frame, payload.size());
  return true;
}

void ring_view::abandon_claim_of(std::uint32_t id) const noexcept {
  ring_control& ctl = control();
  sender_slot& slot = sender_at(id);
  // The intent is our own, or a dead owner's: its stores happened before the kernel freed
  // its slot lock, which we took before calling this (a syscall on both sides: the lock
  // orders them; see "Crashes"). Acquire: "no intent" means the claim is settled (SYNC
  // POINT: intent).
  const std::uint64_t start = slot.intent_start.load(std::memory_order_acquire);
  const std::uint32_t units = slot.intent_units.load(std::memory_order_relaxed);  // relaxed: same release
  if (start == no_intent) return;
  if (units != 0 && (start & (layout_.units - 1)) + units <= layout_.units) {
    frame_entry& entry = entry_at(start);
    const std::uint32_t tag = tag_at(start);
    const std::uint64_t claimed = stamp::pack(tag, frame_state::claimed, id, units);
    const std::uint64_t abandoned = stamp::pack(tag, frame_state::abandoned, id, units);
    // Acquire: the value decides (published: leave it); the CASes below re-check it.
    std::uint64_t e = entry.stamp.load(std::memory_order_acquire);
    for (;;) {
      if (e == claimed) {
        // Release: receivers acquire the stamp (SYNC POINT: frame publish).
        if (entry.stamp.compare_exchange_weak(e, abandoned, std::memory_order_release,
                                              std::memory_order_relaxed)) {
          break;
        }
        continue;
      }
      if (relation(stamp::tag(e), tag) != lap_relation::behind) break;  // published or gone
      // Stale: the claim counts only if it is tail's latest, unrecorded claim. Acquire (SYNC
      // POINT: claim), though only the value matters here.
      std::uint64_t t = ctl.tail.load(std::memory_order_acquire);
      if (tail_word::end(t) != start + units || tail_word::claimer(t) != id) break;  // never made
      if (entry.stamp.compare_exchange_weak(e, abandoned, std::memory_order_release,
                                            std::memory_order_relaxed)) {
        break;
      }
    }
  }
  // By CAS on the intent we settled: nothing else may be cleared. Release: whatever the
  // claimant wrote into the frame happens before a sender that acquires "no intent" reuses
  // the memory (SYNC POINT: intent).
  std::uint64_t expected = start;
  slot.intent_start.compare_exchange_strong(expected, no_intent, std::memory_order_release,
                                            std::memory_order_relaxed);
  notify_data_and_space();
}

void ring_view::settle_dead_sender(std::uint32_t id, std::uint64_t observed_owner) const noexcept {
  fault::at(fault::point::after_death_check);
  sender_slot& slot = sender_at(id);
  const std::uint32_t lock = slot_lock_index::of_sender(id);
  // Our transient hold names us in the owner word, so we hold the slot's lock for as long
  // as it does (the invariant in "Crashes"): should we die half way, the next checker sees
  // the lock free and settles again. A lock we cannot take is a live process's: one taking
  // the slot over (it settles the old claim itself) or settling it already.
  std::error_code lock_ec;
  if (take_slot_lock(lock, lock_ec) != lock_take::taken) return;
  // Hold the slot (transient, in our name) while settling, by CAS on the very owner that
  // was judged dead: a process that took the slot since keeps it, and settles the old
  // claim itself (ring_sender::connect). While we hold it nobody else writes its intent.
  // acq_rel: acquire the owner word's last release; release our hold (SYNC POINT: slot
  // owner). The dead owner's intent is ordered by its slot lock (see abandon_claim_of).
  std::uint64_t expected = observed_owner;
  if (!slot.owner.compare_exchange_strong(expected, token_ | owner_token::transient_bit,
                                          std::memory_order_acq_rel, std::memory_order_relaxed)) {
    release_slot_lock(lock);
    return;
  }
  abandon_claim_of(id);
  // Free the slot (release: the settled intent is published with it; SYNC POINT: slot owner),
  // then drop its death signal, in that order (as in ring_sender::leave).
  slot.owner.store(0, std::memory_order_release);
  release_slot_lock(lock);
}

readiness ring_sender::send_readiness(const ring_view& ring, std::size_t length) const noexcept {
  const std::uint32_t units = units_for(length);
  // seq_cst: as in lowest_in_use.
  const std::uint64_t end = tail_word::end(ring.control().tail.load(std::memory_order_seq_cst));
  const std::uint64_t index = end & (ring.units() - 1);
  // With a wrap, the padding and the frame both need room.
  const std::uint64_t need = index + units > ring.units() ? ring.units() - index + units : units;
  // A full ring is "in progress": the peers may free space, or be dead (stall check).
  return end + need <= lowest_in_use(ring) + ring.units() ? readiness::ready : readiness::in_progress;
}

// ---- endpoint: its sending calls ---------------------------------------------------------

bool endpoint::claim(std::size_t length, const wait_mode& mode, frame_ref& frame, std::error_code& ec) {
  if (ec) ec.clear();  // (clear() calls out of line: skipped when already clear)
  if (!check_open(true, false, ec)) return false;
  [[clang::always_inline]] return sender_.claim(view_, length, mode, frame, ec);
}

void endpoint::commit(frame_ref& frame, std::size_t length) noexcept {
  // A loan that outlived close() finds the half left: nothing to publish.
  [[clang::always_inline]] sender_.commit(view_, frame, length);
}

void endpoint::abandon(frame_ref& frame) noexcept {
  // Safe on an unmapped or never-opened endpoint: close() cleared the half's claim, and
  // the half touches the ring only for its own outstanding claim.
  sender_.abandon(view_, frame);
}

bool endpoint::send(std::span<const std::byte> payload, const wait_mode& mode, std::error_code& ec) {
  if (ec) ec.clear();
  if (!check_open(true, false, ec)) return false;
  [[clang::always_inline]] return sender_.send(view_, payload, mode, ec);
}

endpoint::readiness endpoint::send_readiness(std::size_t length) const noexcept {
  return sender_.send_readiness(view_, length);
}

}  // namespace coipc::detail
