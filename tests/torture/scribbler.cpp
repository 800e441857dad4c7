// coipc-torture --hostile: the scribbler. Opens the live channel's segment with
// coipc::segment::inspect (as the ring fuzzer does) and, until told to stop, writes
// garbage and nasty values into the ring's shared state while the senders and receivers
// use it: frame stamps (laps ahead and behind, any state, sender and unit count), unit
// counts alone, infos (lengths past the maximum, any sequence number), receiver slots
// (owner, position), sender slots (owner, intent, next sequence number), the tail and the
// control block's other words. Writes come in bursts, a few microseconds to a millisecond
// apart, at positions near a receiver's read position (the frames about to be read) or near
// the tail.
//
// It also poses, now and then, as a live peer, which no liveness check can tell from a
// real one: a slow receiver (a free receiver slot taken with its lock, its position a ring
// behind: block-policy senders must wait) or a sender stalled mid-claim (the tail moved
// past a claim it does not publish: receivers must wait). Each pose lasts 20-300 ms.
//
// Left alone on purpose: the segment header (checked at open, fuzzed by fuzz_segment_open)
// and the file's size (truncating a mapped file makes every access past the new end a
// SIGBUS, in any program: README.md, "Hostile writer").
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <span>
#include <string>
#include <system_error>

#include <time.h>

#include "hostile.hpp"
#include "report.hpp"

import coipc;

namespace torture {

namespace {

namespace cd = coipc::detail;
constexpr std::uint64_t no_intent = ~0ull;  // ring.cpp's "no claim being made"

class scribbler {
 public:
  scribbler(std::span<std::byte> body, const cd::ring_layout& layout, const coipc::segment_geometry& g, int fd,
            std::uint64_t seed, hostile_record& counts)
      : layout_(layout), g_(g), fd_(fd), rng_(seed), counts_(counts),
        ctl_(*reinterpret_cast<cd::ring_control*>(body.data())),
        senders_(reinterpret_cast<cd::sender_slot*>(body.data() + layout.senders_offset)),
        receivers_(reinterpret_cast<cd::receiver_slot*>(body.data() + layout.receivers_offset)),
        entries_(reinterpret_cast<cd::frame_entry*>(body.data() + layout.entries_offset)),
        token_(cd::owner_token::of(coipc::platform::this_process())) {}

  /// One write (or the start or end of a pose).
  void scribble_once();
  /// Ends a pose in progress (at the end of the run, so that the channel can be left).
  void end_pose();

 private:
  std::uint64_t any() { return rng_(); }
  std::uint64_t below(std::uint64_t n) { return n ? rng_() % n : 0; }
  bool one_in(std::uint64_t n) { return below(n) == 0; }
  std::uint64_t tail_end() const { return cd::tail_word::end(ctl_.tail.load(std::memory_order_relaxed)); }
  void count(scribble_target t) { bump(counts_.writes[static_cast<unsigned>(t)]); }

  /// A position worth corrupting: near a receiver's read position (what it reads next)
  /// or near the tail (what senders are claiming and publishing).
  std::uint64_t target_position();
  std::uint32_t nasty_units(std::uint64_t position);
  std::uint64_t nasty_owner();
  std::uint64_t nasty_position();

  void stamp(std::uint64_t position);
  void units(std::uint64_t position);
  void info(std::uint64_t position);
  void receiver_owner();
  void receiver_position();
  void sender_slot();
  void tail();
  void control();
  bool start_pose();

  const cd::ring_layout layout_;
  const coipc::segment_geometry g_;
  const int fd_;
  std::mt19937_64 rng_;
  hostile_record& counts_;
  cd::ring_control& ctl_;
  cd::sender_slot* senders_;      // g_.max_senders of them; id = index + 1
  cd::receiver_slot* receivers_;  // g_.max_receivers of them
  cd::frame_entry* entries_;      // layout_.units of them
  const std::uint64_t token_;     // this process's owner token, for poses

  // A pose in progress: which kind, which slot, until when.
  enum class pose { none, receiver, sender } pose_ = pose::none;
  std::uint32_t pose_slot_ = 0;
  std::uint64_t pose_start_ = 0, pose_units_ = 0;
  std::chrono::steady_clock::time_point pose_until_{};
};

std::uint64_t scribbler::target_position() {
  if (one_in(2)) {
    const std::uint64_t p = receivers_[below(g_.max_receivers)].position.load(std::memory_order_relaxed);
    return p + below(8);
  }
  const std::uint64_t end = tail_end();
  return end - layout_.units / 2 + below(layout_.units);
}

std::uint32_t scribbler::nasty_units(std::uint64_t position) {
  const auto u = static_cast<std::uint32_t>(layout_.units);
  const auto left = static_cast<std::uint32_t>(layout_.units - (position & (layout_.units - 1)));
  switch (below(9)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return cd::stamp::max_units;
    case 3: return u;
    case 4: return left;       // exactly to the end of the lap: valid
    case 5: return left + 1;   // one past the end of the lap
    case 6: return 1 + static_cast<std::uint32_t>(below(max_message / cd::unit_bytes + 2));
    case 7: return u + 1 + static_cast<std::uint32_t>(below(u));
    default: return static_cast<std::uint32_t>(any()) & cd::stamp::max_units;
  }
}

std::uint64_t scribbler::nasty_owner() {
  switch (below(6)) {
    case 0: return 0;
    case 1: return ~0ull;
    case 2: return any();
    case 3: return token_ | (one_in(2) ? cd::owner_token::transient_bit : 0);
    case 4: {
      // Another slot's owner, a live party's as likely as not: two slots naming one process.
      const std::uint64_t o = one_in(2) ? receivers_[below(g_.max_receivers)].owner.load(std::memory_order_relaxed)
                                        : senders_[below(g_.max_senders)].owner.load(std::memory_order_relaxed);
      return one_in(3) ? o | cd::owner_token::transient_bit : o;
    }
    default: return cd::owner_token::of({static_cast<std::uint32_t>(below(1u << 22)), any()});
  }
}

std::uint64_t scribbler::nasty_position() {
  const std::uint64_t end = tail_end();
  switch (below(7)) {
    case 0: return 0;
    case 1: return ~0ull;
    case 2: return end - layout_.units - below(layout_.units);  // a ring behind or more: holds block senders
    case 3: return end + 1 + below(layout_.units);              // ahead of the tail
    case 4: return end + (std::uint64_t{1} << 40);
    case 5: return end - below(8);
    default: return any();
  }
}

void scribbler::stamp(std::uint64_t position) {
  const std::uint64_t lap = position / layout_.units;
  const auto state = static_cast<cd::frame_state>(below(4));
  const auto sender = static_cast<std::uint32_t>(one_in(2) ? 1 + below(g_.max_senders) : below(256));
  std::uint32_t tag = cd::stamp::tag_of_lap(lap);
  switch (below(8)) {
    case 0: tag = cd::stamp::tag_of_lap(lap + 1 + below(3)); break;  // future laps
    case 1: tag = cd::stamp::tag_of_lap(lap - 1 - below(3)); break;  // past laps
    case 2: tag = static_cast<std::uint32_t>(any()) & cd::stamp::tag_mask; break;
    default: break;  // this lap: what a receiver at `position` takes for real
  }
  std::uint64_t v = cd::stamp::pack(tag, state, sender, nasty_units(position));
  if (one_in(8)) v = one_in(2) ? 0 : ~0ull;
  if (one_in(16)) v = any();
  entries_[position & (layout_.units - 1)].stamp.store(v, std::memory_order_release);
  count(scribble_target::stamp);
}

void scribbler::units(std::uint64_t position) {
  auto& s = entries_[position & (layout_.units - 1)].stamp;
  const std::uint64_t e = s.load(std::memory_order_relaxed);
  s.store((e & ~std::uint64_t{cd::stamp::max_units}) | nasty_units(position), std::memory_order_release);
  count(scribble_target::units);
}

void scribbler::info(std::uint64_t position) {
  auto& word = entries_[position & (layout_.units - 1)].info;
  const std::uint64_t old = word.load(std::memory_order_relaxed);
  const auto units = cd::stamp::units(entries_[position & (layout_.units - 1)].stamp.load(std::memory_order_relaxed));
  std::uint32_t length = 0;
  switch (below(8)) {
    case 0: length = 0; break;
    case 1: length = static_cast<std::uint32_t>(g_.max_message_size) + 1; break;
    case 2: length = ~0u; break;
    case 3: length = units * static_cast<std::uint32_t>(cd::unit_bytes) + 1; break;  // past its own frame
    case 4: length = units * static_cast<std::uint32_t>(cd::unit_bytes); break;      // exactly its frame
    case 5: length = static_cast<std::uint32_t>(g_.max_message_size); break;
    case 6: length = static_cast<std::uint32_t>(below(g_.max_message_size + 1)); break;
    default: length = static_cast<std::uint32_t>(any()); break;
  }
  std::uint32_t seq = static_cast<std::uint32_t>(old >> 32);
  switch (below(4)) {
    case 0: seq = static_cast<std::uint32_t>(any()); break;
    case 1: seq -= 1 + static_cast<std::uint32_t>(below(4)); break;  // a repeat: a loss count "negative"
    case 2: seq += 1u << 31; break;
    default: break;
  }
  word.store(std::uint64_t{seq} << 32 | length, std::memory_order_release);
  count(scribble_target::info);
}

void scribbler::receiver_owner() {
  receivers_[below(g_.max_receivers)].owner.store(nasty_owner(), std::memory_order_release);
  count(scribble_target::receiver_owner);
}

void scribbler::receiver_position() {
  receivers_[below(g_.max_receivers)].position.store(nasty_position(), std::memory_order_release);
  count(scribble_target::receiver_position);
}

void scribbler::sender_slot() {
  cd::sender_slot& s = senders_[below(g_.max_senders)];
  const std::uint64_t end = tail_end();
  switch (below(4)) {
    case 0: s.owner.store(nasty_owner(), std::memory_order_release); break;
    case 1: {
      std::uint64_t start = 0;
      switch (below(5)) {
        case 0: start = no_intent; break;
        case 1: start = end - 1 - below(8); break;  // looks like tail's latest claim, or near it
        case 2: start = end; break;
        case 3: start = end - layout_.units - below(layout_.units); break;
        default: start = any(); break;
      }
      s.intent_start.store(start, std::memory_order_release);
      break;
    }
    case 2: {
      const std::uint32_t u[] = {0, 1, static_cast<std::uint32_t>(layout_.units), cd::stamp::max_units, ~0u,
                                 static_cast<std::uint32_t>(any())};
      s.intent_units.store(u[below(6)], std::memory_order_release);
      break;
    }
    default: {
      const std::uint32_t seq = s.next_seq.load(std::memory_order_relaxed);
      const std::uint32_t v[] = {0, ~0u, seq - 1, seq + (1u << 31), static_cast<std::uint32_t>(any())};
      s.next_seq.store(v[below(5)], std::memory_order_release);
      break;
    }
  }
  count(scribble_target::sender_slot);
}

void scribbler::tail() {
  const std::uint64_t t = ctl_.tail.load(std::memory_order_relaxed);
  const std::uint64_t end = cd::tail_word::end(t);
  std::uint64_t new_end = end;
  switch (below(7)) {
    case 0: new_end = end + 1 + below(layout_.units); break;  // claims nobody made
    case 1: new_end = end - 1 - below(layout_.units); break;  // backwards
    case 2: new_end = end + (std::uint64_t{1} << 40); break;
    case 3: new_end = 0; break;
    case 4: new_end = (~0ull) >> 8; break;  // the largest end: the next claim wraps the word
    default: break;                         // the claimer alone
  }
  const auto claimer = static_cast<std::uint32_t>(one_in(2) ? below(g_.max_senders + 1) : below(256));
  ctl_.tail.store(cd::tail_word::pack(new_end, claimer), std::memory_order_release);
  count(scribble_target::tail);
}

void scribbler::control() {
  switch (below(4)) {
    case 0: ctl_.membership.store(static_cast<std::uint32_t>(any()), std::memory_order_release); break;
    case 1: {
      // A wait cell's futex word: a waiters bit set or cleared under a parked peer, an epoch
      // moved. Lost wake-ups make waiters sleep to their slice's end: bounded by timeouts.
      cd::wait_cell& c = one_in(2) ? ctl_.data_wait : ctl_.space_wait;
      const std::uint32_t v[] = {0, ~0u, c.word.load(std::memory_order_relaxed) ^ 1u,
                                 static_cast<std::uint32_t>(any())};
      c.word.store(v[below(4)], std::memory_order_release);
      break;
    }
    case 2: (one_in(2) ? ctl_.data_wait : ctl_.space_wait).parked.store(static_cast<std::uint32_t>(any()),
                                                                         std::memory_order_relaxed);
      break;
    default: (one_in(2) ? ctl_.futex.waits : ctl_.futex.wakes).store(any(), std::memory_order_relaxed); break;
  }
  count(scribble_target::control);
}

// A pose is made the way a real peer would make it, lock first (ring.cpp, "Crashes"): so
// every liveness check finds a live peer, and only the callers' timeouts end their waits.
bool scribbler::start_pose() {
  std::error_code ec;
  const auto hold = std::chrono::milliseconds(20 + below(281));
  if (one_in(2)) {
    const auto i = static_cast<std::uint32_t>(below(g_.max_receivers));
    if (receivers_[i].owner.load(std::memory_order_acquire) != 0) return false;
    if (!coipc::platform::take_slot_lock(fd_, cd::slot_lock_index::of_receiver(i), ec)) return false;
    std::uint64_t expected = 0;
    if (!receivers_[i].owner.compare_exchange_strong(expected, token_)) {
      coipc::platform::release_slot_lock(fd_, cd::slot_lock_index::of_receiver(i));
      return false;
    }
    // A ring behind the tail: under block no sender may claim until this "reader" moves.
    receivers_[i].position.store(tail_end() - layout_.units, std::memory_order_release);
    pose_ = pose::receiver;
    pose_slot_ = i;
  } else {
    const auto id = static_cast<std::uint32_t>(1 + below(g_.max_senders));
    cd::sender_slot& s = senders_[id - 1];
    if (s.owner.load(std::memory_order_acquire) != 0) return false;
    if (!coipc::platform::take_slot_lock(fd_, cd::slot_lock_index::of_sender(id), ec)) return false;
    std::uint64_t expected = 0;
    if (!s.owner.compare_exchange_strong(expected, token_)) {
      coipc::platform::release_slot_lock(fd_, cd::slot_lock_index::of_sender(id));
      return false;
    }
    // A claim at the tail, never published: receivers reach it and must wait for a
    // sender that is alive.
    std::uint64_t t = ctl_.tail.load(std::memory_order_acquire);
    const std::uint64_t end = cd::tail_word::end(t);
    const std::uint64_t units = 1 + below(4);
    if ((end & (layout_.units - 1)) + units <= layout_.units) {
      s.intent_units.store(static_cast<std::uint32_t>(units), std::memory_order_relaxed);
      s.intent_start.store(end, std::memory_order_relaxed);
      if (ctl_.tail.compare_exchange_strong(t, cd::tail_word::pack(end + units, id))) {
        pose_start_ = end;
        pose_units_ = units;
      } else {
        s.intent_start.store(no_intent, std::memory_order_release);
      }
    }
    pose_ = pose::sender;
    pose_slot_ = id;
  }
  pose_until_ = std::chrono::steady_clock::now() + hold;
  count(scribble_target::pose);
  return true;
}

void scribbler::end_pose() {
  if (pose_ == pose::receiver) {
    receivers_[pose_slot_].owner.store(0, std::memory_order_release);
    coipc::platform::release_slot_lock(fd_, cd::slot_lock_index::of_receiver(pose_slot_));
    ctl_.membership.fetch_add(1, std::memory_order_release);
  } else if (pose_ == pose::sender) {
    cd::sender_slot& s = senders_[pose_slot_ - 1];
    if (pose_units_ != 0) {
      // Give the claim up as a dying sender's successor would: abandoned, for its lap.
      const std::uint32_t tag = cd::stamp::tag_of_lap(pose_start_ / layout_.units);
      entries_[pose_start_ & (layout_.units - 1)].stamp.store(
          cd::stamp::pack(tag, cd::frame_state::abandoned, pose_slot_, static_cast<std::uint32_t>(pose_units_)),
          std::memory_order_release);
    }
    s.intent_start.store(no_intent, std::memory_order_release);
    s.owner.store(0, std::memory_order_release);
    coipc::platform::release_slot_lock(fd_, cd::slot_lock_index::of_sender(pose_slot_));
  }
  pose_ = pose::none;
  pose_units_ = 0;
}

void scribbler::scribble_once() {
  if (pose_ != pose::none) {
    if (std::chrono::steady_clock::now() >= pose_until_) end_pose();
  } else if (one_in(400) && start_pose()) {
    return;
  }
  // Weights: frame entries most (what receivers trust first), then the slots, the tail and
  // the control block least (a tail far ahead wedges the channel until parties reopen).
  const std::uint64_t r = below(100);
  if (r < 25) {
    stamp(target_position());
  } else if (r < 40) {
    units(target_position());
  } else if (r < 58) {
    info(target_position());
  } else if (r < 65) {
    receiver_owner();
  } else if (r < 75) {
    receiver_position();
  } else if (r < 88) {
    sender_slot();
  } else if (r < 93) {
    tail();
  } else {
    control();
  }
}

void pause_between_bursts(std::mt19937_64& rng) {
  // Mostly a fraction of a millisecond, sometimes a few microseconds (a busy wait: a sleep
  // that short is not a sleep on a loaded machine), sometimes a full millisecond.
  const auto r = rng() % 10;
  if (r == 0) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(1 + rng() % 10);
    while (std::chrono::steady_clock::now() < until) {
    }
    return;
  }
  const long us = r < 4 ? static_cast<long>(10 + rng() % 90) : r < 9 ? static_cast<long>(100 + rng() % 900) : 1000;
  const timespec ts{0, us * 1000};
  ::nanosleep(&ts, nullptr);
}

}  // namespace

int run_scribbler(const hostile_party_config& cfg, report& rep, party_record& rec) {
  hostile_record& h = rec.hostile;
  // The supervisor created the channel before starting us; inspect validates its header.
  std::error_code ec;
  coipc::segment seg = coipc::segment::inspect(cfg.channel, ec);
  if (ec) {
    std::fprintf(stderr, "coipc-torture scribbler #%llu: inspect %s: %s\n", static_cast<unsigned long long>(cfg.incarnation),
                 cfg.channel.c_str(), coipc::last_error_message().c_str());
    return 3;
  }
  const coipc::segment_geometry g = seg.header().geometry;
  const cd::ring_layout layout = cd::ring_layout::of(g);
  // The layout is computed from the geometry, as the library does; it must fit the body
  // inspect mapped (it does for any segment the library made with this geometry).
  if (layout.body_size > seg.body().size() || layout.units == 0 || g.max_senders == 0 || g.max_receivers == 0) {
    std::fprintf(stderr, "coipc-torture scribbler: segment %s: layout does not fit its body\n", cfg.channel.c_str());
    return 3;
  }
  rec.state.store(static_cast<std::uint32_t>(party_state::connected), std::memory_order_release);
  scribbler s(seg.body(), layout, g, seg.fd(), cfg.seed, h);
  std::mt19937_64 rng(cfg.seed ^ 0x5c7155bb1e5ull);
  while (rep.header().hostile_stop.load(std::memory_order_relaxed) == 0) {
    // Bursts: mostly one write, sometimes a handful, now and then a storm of dozens.
    const auto r = rng() % 16;
    const unsigned burst = r < 10 ? 1 : r < 15 ? 2 + static_cast<unsigned>(rng() % 6) : 16 + static_cast<unsigned>(rng() % 48);
    for (unsigned i = 0; i < burst; ++i) s.scribble_once();
    bump(h.calls);
    h.last_call_ns.store(monotonic_ns(), std::memory_order_relaxed);
    pause_between_bursts(rng);
  }
  s.end_pose();
  return 0;
}

}  // namespace torture
