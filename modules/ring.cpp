// The broadcast ring: a multicast log in the style of Aeron and the LMAX Disruptor.
//
// Memory orders: each release store or CAS and the acquire load it pairs with carry the
// same "SYNC POINT: <name>" comment. The failure order of every CAS is relaxed: a failed
// CAS only hands its loop the current value, which the loop re-checks.
//
// ---- Positions, frames and stamps ------------------------------------------------------
//
// The data ring is U units of 64 bytes (U a power of two). Positions count units and only
// grow (64 bits: no wrap in practice); position p lives at index p % U of lap p / U. A
// message is a frame of k contiguous units whose payload starts on its first unit. A
// frame never wraps: when it would, its sender first claims the rest of the lap as a
// padding frame.
//
// Each unit has a frame_entry beside the data, whose `stamp` is meaningful only for the
// first unit of a frame: lap tag | state | sender | units. Stamps live apart from payload
// bytes, so whatever a sender writes can never look like a stamp, and an entry of an older
// lap ("stale") is told from one of the current lap by its tag.
//
// ---- Claiming space (senders) -----------------------------------------------------------
//
// `tail` packs the end of the claimed region with the slot id of the latest claimer. A
// sender claims [end, end + k) by CAS of tail from (end, c) to (end + k, me): the tail CAS
// is the claim, and 64-bit positions make it ABA-free. Before the CAS it writes its intent
// (start, k) into its slot; the CAS publishes it (SYNC POINT: intent). A claim is recorded
// in its entry as stamp = claimed(lap, c, k) by the next sender to claim (below); under
// the overwrite policy, and for padding, the claimant records it itself right after its
// CAS (a lapping sender may race it there).
//
// Invariant: when tail moves past a claim, that claim is already recorded. Every sender
// helps before its own CAS: having read tail = (end, c), it reads c's intent and, if it
// describes [end - k, end) and the entry there is still stale, CASes the entry to
// claimed(lap, c, k). Its own CAS expects exactly (end, c), so it can only succeed after
// the help. Hence a receiver at r that finds a stale entry while tail.end > r knows that
// the claim at r is the latest one, by tail's claimer, not yet recorded.
//
// Under the block policy a claim also needs space: end + k - min(receiver positions) <= U.
// Senders cache the minimum and rescan the receiver slots only when the cache says full.
//
// ---- Publishing and reading -------------------------------------------------------------
//
// The sender writes the payload, then `info` (length, sequence), then publishes by a
// release store of stamp = published(lap, me, k) (SYNC POINT: frame publish). A receiver
// at r acquire-loads the stamp; when it is published for r's lap, the payload and info
// written before the release are visible: no receiver ever sees a torn message. Padding
// and abandoned frames are skipped. After reading, the receiver release-stores its new
// position in its slot (SYNC POINT: receiver release), which senders acquire when they
// rescan: a sender overwrites space only after every live receiver has finished with it.
//
// ---- Connecting receivers ---------------------------------------------------------------
//
// A receiver takes a free slot with owner = me|connecting (senders skip connecting slots),
// stores position p = tail.end, then owner = me (seq_cst), then re-reads tail.end = p2
// (seq_cst) and starts at p2. A sender's rescan that missed the slot precedes the owner
// store in the seq_cst order, so claims based on it end by tail.end + U <= p2 + U: nothing
// at or after p2 is overwritten before the receiver is counted.
//
// ---- Crashes ----------------------------------------------------------------------------
//
// Processes are named by pid + start time (platform::is_alive), so a recycled pid is never
// taken for the original owner.
//   - A receiver that died stops moving its position. A sender blocked for longer than
//     stall_timeout checks the laggards' owners and evicts the dead ones.
//   - A sender that died between its tail CAS and publishing leaves a claimed (or, in the
//     CAS-to-record window, unrecorded) frame. A receiver stalled on it for longer than
//     stall_timeout checks the claimer; if it is dead it CASes the stamp to abandoned, and
//     every receiver skips it. A process that takes over a dead sender's slot abandons the
//     slot's outstanding claim (its intent) first.
//   - A restarted process simply opens the segment again and takes a free or dead slot.
//
// Telling dead from alive. /proc proves a death only sometimes: ESRCH, a zombie, another
// start time under the pid. It cannot when the pid was reused by another user's process,
// under hidepid, or without a file descriptor to read it with, and then is_alive must say
// "alive" (evicting a live receiver corrupts its stream). Alone, that turns a dead peer
// into a stall that never ends. So every slot also has a death signal that the kernel
// releases when its owner dies: an exclusive OFD lock on one byte of the segment's file
// (platform::take_slot_lock; byte slot_lock_index::of_sender / of_receiver), taken through
// the endpoint's own descriptor, which the kernel closes when the process dies, whoever
// can or cannot read its /proc. The invariant:
//
//     owner word non-zero => that slot's lock is held by the live process the word names,
//                            or that process is dead.
//
// It holds because every write of a non-zero owner (connecting, taking over a dead slot,
// a checker's transient hold while it settles a dead sender's claim) is a CAS made while
// the writer holds the slot's lock, taken before the CAS (failed CAS: lock released), and
// because leaving stores owner 0 first and releases the lock after. Taking the lock first
// means that a checker that has read an owner and then finds the lock free cannot be
// looking at a connector between the two steps. (The kernel's lock table is updated under
// its own lock: our take happens before our owner CAS, a release, so a checker whose
// acquire load reads that owner sees the lock taken.) Hence endpoint::owner_dead: dead
// when is_alive proves it (the fast path), otherwise dead exactly when the slot's lock is
// free; held, or a query that fails, means alive.
//
// A verdict is only acted on under the lock: a checker takes the slot's lock, then CASes
// the owner word from the owner it judged (evicting, settling, taking over), then releases
// the lock. While it holds the lock no process can write a new owner, so a word still
// equal to the judged one cannot belong to a live holder that left and came back under
// the same token (an endpoint of the same process) between the verdict and the CAS. A
// lock it cannot take is held by a live process: a connector mid-way, a leaver between
// its two steps, another checker; the slot is left to it, as a live owner's would be.
//
// Limits: an OFD lock lives as long as any descriptor of its open file description. A
// child forked without exec shares its parent's descriptors and so keeps the parent's
// locks (and slots) held until it exits or closes them. Exec closes them (close-on-exec),
// so a process that execs with endpoints open gives up their slots: its pid and start
// time stay, but its locks are gone and checkers free its slots.

// ---- Overwrite policy -------------------------------------------------------------------
//
// Senders never wait for receivers. They do wait (briefly) for another sender still
// writing a frame a whole ring behind: reusing that memory would let the slow writer tear
// a newer frame after readers had validated it. A receiver whose frame may have been
// overwritten (tail.end > r + U)
// or whose entry belongs to a later lap skips to the oldest frame still in the ring. Reads
// are validated after copying (the seqlock pattern): a frame is intact when, after an
// acquire fence, tail.end <= r + U. Each frame carries its sender's sequence number; the
// receiver counts the gaps per sender as lost messages.
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
constexpr std::uint64_t no_intent = ~0ull;
constexpr std::chrono::nanoseconds min_stall_timeout = std::chrono::milliseconds(1);

std::size_t align_up(std::size_t n, std::size_t a) { return (n + a - 1) / a * a; }

enum class lap_relation { same, behind, ahead };

// Compares an entry's lap tag with the tag expected at a position (modulo 2^30).
lap_relation relation(std::uint32_t entry_tag, std::uint32_t want_tag) {
  if (entry_tag == want_tag) return lap_relation::same;
  std::uint32_t diff = (entry_tag - want_tag) & stamp::tag_mask;
  return diff < (1u << (stamp::tag_bits - 1)) ? lap_relation::ahead : lap_relation::behind;
}

std::uint32_t units_for(std::size_t length) {
  return static_cast<std::uint32_t>(std::max<std::size_t>(1, (length + unit_bytes - 1) / unit_bytes));
}

std::optional<std::chrono::nanoseconds> time_left(const wait_mode& mode) {
  if (mode.kind != wait_mode::until) return std::nullopt;
  return std::max(std::chrono::nanoseconds::zero(),
                  std::chrono::duration_cast<std::chrono::nanoseconds>(
                      mode.deadline - std::chrono::steady_clock::now()));
}
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

sender_slot& endpoint::sender_at(std::uint32_t id) const noexcept {
  return reinterpret_cast<sender_slot*>(base_ + layout_.senders_offset)[id - 1];
}
receiver_slot& endpoint::receiver_at(std::uint32_t index) const noexcept {
  return reinterpret_cast<receiver_slot*>(base_ + layout_.receivers_offset)[index];
}
frame_entry& endpoint::entry_at(std::uint64_t position) const noexcept {
  return reinterpret_cast<frame_entry*>(base_ + layout_.entries_offset)[position & (layout_.units - 1)];
}
std::byte* endpoint::data_at(std::uint64_t position) const noexcept {
  return base_ + layout_.data_offset + (position & (layout_.units - 1)) * unit_bytes;
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
      if (!slot.owner.compare_exchange_strong(cur, token_, std::memory_order_acq_rel)) {
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
                                              std::memory_order_acq_rel)) {
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

bool endpoint::wait_for_receivers(std::uint32_t n, wait_mode mode, std::error_code& ec) {
  ec.clear();
  if (!check_open(false, false, ec)) return false;
  ring_control& ctl = control();
  for (;;) {
    std::uint32_t m = ctl.membership.load(std::memory_order_acquire);
    if (receiver_count() >= n) return true;
    auto left = time_left(mode);
    if (mode.kind == wait_mode::none || (left && *left <= std::chrono::nanoseconds::zero())) {
      return detail::fail(ec, errc::timeout,
                          fmt::format("channel '{}': {} receivers did not connect in time", name(), n));
    }
    // Bounded slices: a receiver that dies without leaving is only seen by polling.
    std::chrono::nanoseconds slice = std::chrono::milliseconds(50);
    if (left) slice = std::min(slice, *left);
    platform::park_wait(ctl.membership, m, slice);
  }
}

channel_stats endpoint::stats() const noexcept {
  if (!base_) return {};
  // Relaxed: statistics.
  return {control().futex.waits.load(std::memory_order_relaxed),
          control().futex.wakes.load(std::memory_order_relaxed)};
}

// ---- sending -----------------------------------------------------------------------------

std::uint64_t endpoint::lowest_in_use(std::uint64_t evict_dead_below) const noexcept {
  ring_control& ctl = control();
  const std::uint64_t end = tail_word::end(ctl.tail.load(std::memory_order_seq_cst));
  std::uint64_t lowest = end;  // nobody reading or writing: nothing holds the senders back
  if (options_.policy == overflow_policy::block) {
    for (std::uint32_t i = 0; i < options_.max_receivers; ++i) {
      receiver_slot& slot = receiver_at(i);
      std::uint64_t o = slot.owner.load(std::memory_order_seq_cst);  // SYNC POINT: slot owner
      if (o == 0 || (o & owner_token::transient_bit)) continue;
      std::uint64_t pos = slot.position.load(std::memory_order_acquire);  // SYNC POINT: receiver release
      const std::uint32_t lock = slot_lock_index::of_receiver(i);
      if (pos < evict_dead_below && owner_dead(lock, o)) {
        fault::at(fault::point::after_death_check);
        // A dead receiver holding the ring: evict it so that no one waits on it again.
        // Under the slot's lock, by CAS on the owner we judged: a process that took the
        // slot meanwhile stays, and while we hold the lock nobody can write an owner, so
        // a word still equal to the judged one is the dead owner's, not that of another
        // endpoint of the same process that came back to the slot since the verdict. A
        // lock we cannot take is a live process's: one connecting, leaving or evicting
        // here. Either way this slot's position no longer holds the ring (a connector
        // starts at the tail; see "Connecting receivers").
        std::error_code lock_ec;
        if (take_slot_lock(lock, lock_ec) == lock_take::taken) {
          // acq_rel: release the freed slot to its next connector, as every owner change
          // does (SYNC POINT: slot owner).
          if (slot.owner.compare_exchange_strong(o, 0, std::memory_order_acq_rel)) {
            ctl.membership.fetch_add(1, std::memory_order_release);  // SYNC POINT: membership
            platform::park_wake(ctl.membership, INT32_MAX);
            // Other senders parked for space behind it may go on now.
            notify_parked(ctl.space_wait, ctl.futex);
          }
          release_slot_lock(lock);
        }
        continue;
      }
      lowest = std::min(lowest, pos);
    }
  }
  // Other senders' claims still being written: their frames' memory must not be reused
  // either (under overwrite too, or a slow writer would tear a newer frame).
  for (std::uint32_t id = 1; id <= options_.max_senders; ++id) {
    if (id == sender_id_) continue;
    sender_slot& slot = sender_at(id);
    const std::uint64_t o = slot.owner.load(std::memory_order_acquire);  // SYNC POINT: slot owner
    // Acquire: pairs with the claimer's release CAS of tail (SYNC POINT: intent).
    const std::uint64_t claim = slot.intent_start.load(std::memory_order_acquire);
    if (o == 0 || claim == no_intent || claim >= lowest) continue;
    // A dead owner's claim, or a dead settler's (transient): settle it (again).
    if (claim < evict_dead_below && owner_dead(slot_lock_index::of_sender(id), o)) {
      const_cast<endpoint*>(this)->settle_dead_sender(id, o);  // settles shared memory only
      continue;
    }
    lowest = claim;
  }
  return lowest;
}

bool endpoint::has_space(std::uint64_t end, std::uint32_t need) noexcept {
  if (end + need <= cached_min_ + layout_.units) return true;
  cached_min_ = lowest_in_use(0);
  return end + need <= cached_min_ + layout_.units;
}

void endpoint::help_record(std::uint64_t tail) noexcept {
  const std::uint32_t c = tail_word::claimer(tail);
  const std::uint64_t end = tail_word::end(tail);
  if (c == 0 || c > options_.max_senders) return;
  sender_slot& slot = sender_at(c);
  // Acquire pairs with the claimer's release CAS of tail, which we have seen (SYNC POINT: intent).
  const std::uint64_t start = slot.intent_start.load(std::memory_order_acquire);
  const std::uint32_t units = slot.intent_units.load(std::memory_order_relaxed);  // relaxed: same release
  if (start == no_intent || start + units != end || units == 0 ||
      (start & (layout_.units - 1)) + units > layout_.units) {
    return;  // that claim is recorded already (the claimer moved on)
  }
  frame_entry& entry = entry_at(start);
  const std::uint32_t tag = stamp::tag_of_lap(start / layout_.units);
  std::uint64_t e = entry.stamp.load(std::memory_order_acquire);
  if (relation(stamp::tag(e), tag) == lap_relation::behind) {
    // Release: the recorded claim is read by receivers with acquire (SYNC POINT: frame publish).
    entry.stamp.compare_exchange_strong(e, stamp::pack(tag, frame_state::claimed, c, units),
                                        std::memory_order_release, std::memory_order_relaxed);
  }
}

bool endpoint::claim_units(std::uint32_t units, frame_state initial, wait_mode mode,
                           std::uint64_t& start, std::error_code& ec) {
  ring_control& ctl = control();
  sender_slot& me = sender_at(sender_id_);
  spin_wait backoff(options_.spin);
  bool stall_checked = false;  // a stall check ran since the try/deadline tests last did
  for (;;) {
    std::uint64_t t = ctl.tail.load(std::memory_order_acquire);  // SYNC POINT: intent
    help_record(t);
    const std::uint64_t end = tail_word::end(t);
    const std::uint64_t index = end & (layout_.units - 1);
    // A frame never wraps: claim the rest of the lap as padding first.
    const bool pad = index + units > layout_.units;
    const auto claim_units = pad ? static_cast<std::uint32_t>(layout_.units - index) : units;
    const frame_state state = pad ? frame_state::padding : initial;

    if (!has_space(end, claim_units)) {
      // Under block: a receiver is a whole ring behind. Under overwrite (and block):
      // another sender is still writing a frame a whole ring behind.
      // The stall clock runs across calls (try_send polling from coipc.asio included):
      // a peer that holds the ring for longer than stall_timeout is checked for life.
      auto now = std::chrono::steady_clock::now();
      if (!send_stall_at_) {
        send_stall_at_ = now + options_.stall_timeout;
      } else if (now >= *send_stall_at_ && !stall_checked) {
        // Evict the dead among the peers that hold the ring (those behind the position
        // the claim needs freed), then look once more before the try/deadline tests below:
        // a check never repeats without them in between, however long it took.
        cached_min_ = lowest_in_use(end + claim_units - layout_.units);
        send_stall_at_ = std::chrono::steady_clock::now() + options_.stall_timeout;
        stall_checked = true;
        continue;
      }
      stall_checked = false;
      if (mode.kind == wait_mode::none) {
        return detail::fail(ec, errc::would_block, fmt::format("channel '{}': ring full", name()));
      }
      if (backoff.spin()) continue;
      if (mode.kind == wait_mode::until && now >= mode.deadline) {
        return detail::fail(ec, errc::timeout,
                            fmt::format("channel '{}': no space for the message in time (a "
                                        "receiver is a whole ring behind)",
                                        name()));
      }
      std::chrono::nanoseconds slice = std::max(std::chrono::nanoseconds::zero(), *send_stall_at_ - now);
      if (auto left = time_left(mode)) slice = std::min(slice, *left);
      // Every transition that frees space notifies space_wait: a receiver moving on or
      // leaving or evicted, a sender committing or abandoning its claim, a dead sender's
      // claim settled. So this sleeps until then, or until the next stall check.
      park_once(ctl.space_wait, ctl.futex,
                [&] { return has_space(tail_word::end(ctl.tail.load(std::memory_order_seq_cst)), claim_units); },
                slice);
      continue;
    }

    // Relaxed: both are published by the release (acq_rel) CAS of tail below (SYNC POINT: intent).
    me.intent_units.store(claim_units, std::memory_order_relaxed);
    me.intent_start.store(end, std::memory_order_relaxed);
    // seq_cst: ordered with connecting receivers' tail loads (see "Connecting receivers").
    if (!ctl.tail.compare_exchange_strong(t, tail_word::pack(end + claim_units, sender_id_),
                                          std::memory_order_seq_cst)) {
      // Another sender claimed first. Withdraw the intent: while we wait for space, it
      // must not look like a claim in progress to the others (see lowest_in_use).
      me.intent_start.store(no_intent, std::memory_order_relaxed);  // relaxed: a retraction only
      continue;
    }
    fault::at(fault::point::after_tail_cas);
    if (!pad && options_.policy == overflow_policy::block) {
      // No need to record our own claim: while it is the latest, tail names us; once
      // another sender claims after it, that sender records it first (the invariant).
      // Publishing will overwrite the stamp directly. Saves a CAS per message.
      send_stall_at_.reset();
      start = end;
      return true;
    }
    // Record the claim (a helper may have recorded it as claimed already).
    frame_entry& entry = entry_at(end);
    const std::uint32_t tag = stamp::tag_of_lap(end / layout_.units);
    const std::uint64_t want = stamp::pack(tag, state, sender_id_, claim_units);
    std::uint64_t e = entry.stamp.load(std::memory_order_relaxed);  // relaxed: CAS re-checks
    while (e != want) {
      const bool stale = relation(stamp::tag(e), tag) == lap_relation::behind;
      const bool ours_claimed = e == stamp::pack(tag, frame_state::claimed, sender_id_, claim_units);
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
    send_stall_at_.reset();
    start = end;
    return true;
  }
}

bool endpoint::claim(std::size_t length, wait_mode mode, frame_ref& frame, std::error_code& ec) {
  if (ec) ec.clear();  // (clear() calls out of line: skipped when already clear)
  if (!check_open(true, false, ec)) return false;
  if (length > max_message_) {
    return detail::fail(ec, errc::message_too_large,
                        fmt::format("channel '{}': message of {} B exceeds the maximum of {} B",
                                    name(), length, max_message_));
  }
  if (claim_outstanding_) {
    return detail::fail(ec, errc::loan_outstanding,
                        fmt::format("channel '{}': this endpoint's previous loan is still "
                                    "outstanding; commit or drop it before sending or loaning "
                                    "again (one claim at a time per sender)",
                                    name()));
  }
  const std::uint32_t units = units_for(length);
  std::uint64_t start = 0;
  if (!claim_units(units, frame_state::claimed, mode, start, ec)) return false;
  claim_outstanding_ = true;
  if (options_.policy == overflow_policy::overwrite) {
    // Orders our tail CAS before every write into the frame, so that a receiver that reads
    // any of those writes and then (after an acquire fence) the tail sees the claim and
    // knows its copy is torn (see intact()).
    std::atomic_thread_fence(std::memory_order_release);
  }
  frame = {start, units, static_cast<std::uint32_t>(length), sender_id_, 0, data_at(start)};
  return true;
}

void endpoint::commit(frame_ref& frame, std::size_t length) noexcept {
  // A loan that outlived close(), or whose claim close() settled: nothing to publish.
  // (close() clears claim_outstanding_; a never-opened endpoint has none; a frame of
  // another endpoint or an empty one has another sender id.)
  if (!claim_outstanding_ || frame.sender != sender_id_) {
    frame = {};
    return;
  }
  fault::at(fault::point::before_publish);
  sender_slot& me = sender_at(sender_id_);
  frame_entry& entry = entry_at(frame.position);
  const std::uint32_t tag = stamp::tag_of_lap(frame.position / layout_.units);
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
  const std::uint64_t published = stamp::pack(tag, frame_state::published, sender_id_, frame.units);
  if (options_.policy == overflow_policy::block) {
    entry.stamp.store(published, std::memory_order_release);  // SYNC POINT: frame publish
  } else {
    // Under overwrite the frame may have been lapped by now: never clobber a newer stamp.
    std::uint64_t claimed = stamp::pack(tag, frame_state::claimed, sender_id_, frame.units);
    entry.stamp.compare_exchange_strong(claimed, published, std::memory_order_release,  // SYNC POINT: frame publish
                                        std::memory_order_relaxed);
  }
  fault::at(fault::point::after_publish);
  // Release: our payload stores happen before another sender that acquires "no intent"
  // reuses this memory (SYNC POINT: intent). Relaxed would let them drift past it on Arm.
  me.intent_start.store(no_intent, std::memory_order_release);
  claim_outstanding_ = false;
  frame = {};
  notify_data_and_space();
}

void endpoint::abandon(frame_ref& frame) noexcept {
  if (!frame) return;
  // Only the frame this endpoint's outstanding claim is about: a loan that outlived close()
  // (close settled it) or a stale frame_ref settles nothing.
  if (base_ && claim_outstanding_ && frame.sender == sender_id_ &&
      sender_at(sender_id_).intent_start.load(std::memory_order_relaxed) == frame.position) {  // relaxed: we wrote it
    abandon_claim_of(sender_id_);
    claim_outstanding_ = false;
  }
  frame = {};
}

void endpoint::notify_data_and_space() noexcept {
  ring_control& ctl = control();
  // One fence serves both cells: notify_parked's F2 (see coipc:wait), hoisted.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  notify_parked_fenced(ctl.data_wait, ctl.futex);
  notify_parked_fenced(ctl.space_wait, ctl.futex);
}

bool endpoint::send(std::span<const std::byte> payload, wait_mode mode, std::error_code& ec) {
  frame_ref frame;
  if (!claim(payload.size(), mode, frame, ec)) return false;
  if (!payload.empty()) std::memcpy(frame.data, payload.data(), payload.size());
  commit(frame, payload.size());
  return true;
}

void endpoint::abandon_claim_of(std::uint32_t id) noexcept {
  ring_control& ctl = control();
  sender_slot& slot = sender_at(id);
  // Acquire: the intent of a (dead) owner, published by its tail CAS (SYNC POINT: intent).
  const std::uint64_t start = slot.intent_start.load(std::memory_order_acquire);
  const std::uint32_t units = slot.intent_units.load(std::memory_order_relaxed);  // relaxed: same release
  if (start == no_intent) return;
  if (units != 0 && (start & (layout_.units - 1)) + units <= layout_.units) {
    frame_entry& entry = entry_at(start);
    const std::uint32_t tag = stamp::tag_of_lap(start / layout_.units);
    const std::uint64_t claimed = stamp::pack(tag, frame_state::claimed, id, units);
    const std::uint64_t abandoned = stamp::pack(tag, frame_state::abandoned, id, units);
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
      // Stale: the claim counts only if it is tail's latest, unrecorded claim.
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

void endpoint::settle_dead_sender(std::uint32_t id, std::uint64_t observed_owner) noexcept {
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
  // claim itself (connect_sender). While we hold it nobody else writes its intent.
  // acq_rel: acquire the dead owner's intent; release our hold (SYNC POINT: slot owner).
  std::uint64_t expected = observed_owner;
  if (!slot.owner.compare_exchange_strong(expected, token_ | owner_token::transient_bit,
                                          std::memory_order_acq_rel, std::memory_order_relaxed)) {
    release_slot_lock(lock);
    return;
  }
  abandon_claim_of(id);
  // Free the slot (release: the settled intent is published with it; SYNC POINT: slot owner),
  // then drop its death signal, in that order (as in release_sender_slot).
  slot.owner.store(0, std::memory_order_release);
  release_slot_lock(lock);
}

// ---- receiving -------------------------------------------------------------------------------

void endpoint::advance(std::uint64_t new_position) noexcept {
  read_position_ = new_position;
  receiver_at(static_cast<std::uint32_t>(receiver_index_))
      .position.store(new_position, std::memory_order_release);  // SYNC POINT: receiver release
  if (options_.policy == overflow_policy::block) {
    notify_parked(control().space_wait, control().futex);
  }
}

endpoint::peek_result endpoint::peek(frame_ref& frame, std::uint32_t& in_progress_by) noexcept {
  ring_control& ctl = control();
  // Under overwrite, whether the frame at r may have been overwritten since we looked at
  // it: then what looked inconsistent was a lap in progress, not corruption. The fence
  // orders our reads of the entry before the tail load (see claim()'s release fence).
  auto lapped = [&](std::uint64_t r) {
    if (options_.policy != overflow_policy::overwrite) return false;
    std::atomic_thread_fence(std::memory_order_acquire);
    // Relaxed: ordered by the fence above.
    return tail_word::end(ctl.tail.load(std::memory_order_relaxed)) > r + layout_.units;
  };
  for (;;) {
    const std::uint64_t r = read_position_;
    if (lapped(r)) {
      skip_lapped();
      continue;
    }
    frame_entry& entry = entry_at(r);
    const std::uint32_t tag = stamp::tag_of_lap(r / layout_.units);
    const std::uint64_t e = entry.stamp.load(std::memory_order_acquire);  // SYNC POINT: frame publish
    switch (relation(stamp::tag(e), tag)) {
      case lap_relation::same: {
        const std::uint32_t units = stamp::units(e);
        const frame_state state = stamp::state(e);
        // Relaxed: ordered by the stamp's acquire above.
        const std::uint64_t info = entry.info.load(std::memory_order_relaxed);
        const auto length = static_cast<std::uint32_t>(info);
        const bool bad_units = units == 0 || (r & (layout_.units - 1)) + units > layout_.units;
        const bool bad_length = state == frame_state::published &&
                                (length > std::uint64_t{units} * unit_bytes || length > max_message_);
        if (bad_units || bad_length) {
          if (lapped(r)) continue;
          return peek_result::corrupt;
        }
        switch (state) {
          case frame_state::published:
            frame = {r, units, length, stamp::sender(e), static_cast<std::uint32_t>(info >> 32),
                     data_at(r)};
            return peek_result::ready;
          case frame_state::padding:
          case frame_state::abandoned:
            advance(r + units);
            continue;
          case frame_state::claimed:
            in_progress_by = stamp::sender(e);
            return peek_result::in_progress;
        }
        return peek_result::corrupt;
      }
      case lap_relation::ahead: {
        // A later lap's frame at r: lapped. Impossible under block (senders wait for us)
        // and impossible at or beyond the tail: there it is garbage.
        if (options_.policy == overflow_policy::block ||
            r >= tail_word::end(ctl.tail.load(std::memory_order_acquire))) {
          return peek_result::corrupt;
        }
        skip_lapped();
        continue;
      }
      case lap_relation::behind: {
        const std::uint64_t t = ctl.tail.load(std::memory_order_acquire);
        if (tail_word::end(t) > r) {
          in_progress_by = tail_word::claimer(t);  // claimed, not yet recorded
          return peek_result::in_progress;
        }
        return peek_result::empty;
      }
    }
  }
}

void endpoint::skip_lapped() noexcept {
  ring_control& ctl = control();
  const std::uint64_t end = tail_word::end(ctl.tail.load(std::memory_order_acquire));
  std::uint64_t from = std::max(read_position_ + 1, end > layout_.units ? end - layout_.units + 1 : 0);
  std::uint64_t next = end;
  // The oldest frame start still in the ring: an entry stamped with its own lap.
  for (std::uint64_t u = from; u < end; ++u) {
    const std::uint64_t e = entry_at(u).stamp.load(std::memory_order_acquire);
    if (stamp::tag(e) == stamp::tag_of_lap(u / layout_.units) && stamp::units(e) != 0) {
      next = u;
      break;
    }
  }
  advance(next);
}

void endpoint::handle_stall(std::uint32_t claimer) noexcept {
  if (claimer == 0 || claimer > options_.max_senders) return;
  const std::uint64_t o = sender_at(claimer).owner.load(std::memory_order_acquire);  // SYNC POINT: slot owner
  // Free: whoever left or settled the slot settled its claim first.
  if (o == 0) return;
  // Slow, not dead (a live settler too: it is settling the claim right now).
  if (!owner_dead(slot_lock_index::of_sender(claimer), o)) return;
  // Dead (a settler that died half way included): settle its claim so that everyone can
  // go on, unless the slot changed hands.
  settle_dead_sender(claimer, o);
}

bool endpoint::intact(const frame_ref& frame) const noexcept {
  if (options_.policy == overflow_policy::block) return true;
  std::atomic_thread_fence(std::memory_order_acquire);  // the payload reads come before
  return tail_word::end(control().tail.load(std::memory_order_relaxed)) <=  // relaxed: after the fence
         frame.position + layout_.units;
}

bool endpoint::acquire(wait_mode mode, frame_ref& frame, std::error_code& ec) {
  if (ec) ec.clear();  // (clear() calls out of line: skipped when already clear)
  if (!check_open(false, true, ec)) return false;
  ring_control& ctl = control();
  spin_wait backoff(options_.spin);
  bool stall_checked = false;  // a stall check ran since the try/deadline tests last did
  for (;;) {
    std::uint32_t by = 0;
    switch (peek(frame, by)) {
      case peek_result::ready:
        recv_stall_at_.reset();
        return true;
      case peek_result::corrupt:
        return detail::fail(ec, errc::corrupt_segment,
                            fmt::format("channel '{}': corrupt frame at position {}", name(),
                                        read_position_));
      case peek_result::empty:
        recv_stall_at_.reset();
        break;
      case peek_result::in_progress: break;
    }
    std::optional<std::chrono::nanoseconds> slice;
    auto now = std::chrono::steady_clock::now();
    if (by != 0) {
      // A claim is in progress at our position. The stall clock runs across calls
      // (try_recv polling from coipc.asio included); past stall_timeout, check the claimer.
      if (!recv_stall_at_) {
        recv_stall_at_ = now + options_.stall_timeout;
      } else if (now >= *recv_stall_at_ && !stall_checked) {
        // Check, then look once more before the try/deadline tests below: a check never
        // repeats without them in between, however long it took.
        handle_stall(by);
        recv_stall_at_ = std::chrono::steady_clock::now() + options_.stall_timeout;
        stall_checked = true;
        continue;
      }
      slice = std::max(std::chrono::nanoseconds::zero(), *recv_stall_at_ - now);
    }
    stall_checked = false;
    if (mode.kind == wait_mode::none) {
      return detail::fail(ec, errc::would_block, fmt::format("channel '{}': no message", name()));
    }
    if (backoff.spin()) continue;
    if (mode.kind == wait_mode::until && now >= mode.deadline) {
      return detail::fail(ec, errc::timeout, fmt::format("channel '{}': no message in time", name()));
    }
    if (auto left = time_left(mode)) slice = slice ? std::min(*slice, *left) : *left;
    park_once(ctl.data_wait, ctl.futex,
              [&] { return receive_readiness() == readiness::ready; }, slice);
  }
}

endpoint::readiness endpoint::receive_readiness() const noexcept {
  const std::uint64_t r = read_position_;
  // Acquire: pairs with the publishing release (SYNC POINT: frame publish).
  const std::uint64_t e = entry_at(r).stamp.load(std::memory_order_acquire);
  switch (relation(stamp::tag(e), stamp::tag_of_lap(r / layout_.units))) {
    case lap_relation::same:
      return stamp::state(e) == frame_state::claimed ? readiness::in_progress : readiness::ready;
    case lap_relation::ahead:
      return readiness::ready;  // lapped or garbage: the next call finds out which
    case lap_relation::behind:
      break;
  }
  const std::uint64_t end = tail_word::end(control().tail.load(std::memory_order_acquire));
  return end > r ? readiness::in_progress : readiness::waiting;
}

endpoint::readiness endpoint::send_readiness(std::size_t length) const noexcept {
  const std::uint32_t units = units_for(length);
  const std::uint64_t end = tail_word::end(control().tail.load(std::memory_order_seq_cst));
  const std::uint64_t index = end & (layout_.units - 1);
  // With a wrap, the padding and the frame both need room.
  const std::uint64_t need = index + units > layout_.units ? layout_.units - index + units : units;
  // A full ring is "in progress": the peers may free space, or be dead (stall check).
  return end + need <= lowest_in_use(0) + layout_.units ? readiness::ready : readiness::in_progress;
}

bool endpoint::release(frame_ref& frame, bool known_intact) noexcept {
  if (!frame || receiver_index_ < 0) return false;
  bool was_intact = true;
  if (options_.policy == overflow_policy::overwrite) {
    // Loss accounting only for frames known intact: an overwritten frame's info may
    // already be another frame's (the check comes after every read of it). An overwritten
    // frame is counted by the gap before its sender's next intact frame.
    was_intact = known_intact || intact(frame);
    if (was_intact && frame.sender < expected_seq_.size()) {
      const std::uint32_t gap = frame.seq - expected_seq_[frame.sender];
      if (gap < (1u << 31)) lost_ += gap;  // else: older than the baseline (see connect)
      expected_seq_[frame.sender] = frame.seq + 1;
    }
  }
  if (frame.position == read_position_) advance(frame.position + frame.units);
  frame = {};
  return was_intact;
}

}  // namespace coipc::detail
