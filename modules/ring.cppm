// coipc:ring — the broadcast ring in a segment: its shared layout, and the algorithm's essay
// (below). The endpoint that sends into it and receives from it is coipc:endpoint.
//
// Body layout (all offsets from the body's start, which is 64-byte aligned):
//
//   ring_control        5 cache lines: tail | data wait cell | space wait cell |
//                       membership word | futex counters
//   sender_slot[S]      one cache line each: owner, claim intent, next sequence number
//   receiver_slot[R]    one cache line each: owner, read position (the senders' gate)
//   frame_entry[U]      16 B per data unit: the stamp (claim/publish word) and info
//   data[U * 64]        the payload bytes; a frame's payload starts on a unit boundary
//
// Frames' control words live apart from the payload bytes so that no payload byte can
// ever be mistaken for a stamp, whatever a sender writes.
//
// ==== The algorithm: a multicast log in the style of Aeron and the LMAX Disruptor ====
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
// (start, k) into its slot; the CAS publishes it (SYNC POINT: claim). A claim is recorded
// in its entry as stamp = claimed(lap, c, k) by the next sender to claim (below); under
// the overwrite policy, and for padding, the claimant records it itself right after its
// CAS (a lapping sender may race it there). Once the claim is published or settled, the
// slot's intent goes back to "no intent" by a release store (SYNC POINT: intent): a sender
// that acquires it may reuse the frame's memory.
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
//   - A sender that died between publishing and waking the parked receivers leaves a
//     message nobody announces: a parked receiver looks again every stall_timeout (the
//     one cost of this bound while idle: a futex timeout per stall_timeout).
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
// acquire load reads that owner sees the lock taken.) Hence ring_view::owner_dead: dead
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
module;
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>
export module coipc:ring;
import :error;
import :platform;
import :segment;
import :wait;

export namespace coipc {

/// What a sender does when the slowest receiver is a whole ring behind.
enum class overflow_policy : std::uint32_t {
  block = 0,      ///< wait for space, up to the call's timeout (the default)
  overwrite = 1,  ///< never wait; a lagging receiver skips ahead and counts what it lost
};

/// Futex syscalls issued on one channel, by all its processes together.
struct channel_stats {
  std::uint64_t futex_waits = 0;
  std::uint64_t futex_wakes = 0;
};

}  // namespace coipc

export namespace coipc::detail {

inline constexpr std::size_t cache_line = 64;
inline constexpr std::size_t unit_bytes = 64;  ///< data ring granularity and payload alignment

enum class channel_kind : std::uint32_t { route = 1, channel = 2 };

/// The claim frontier: end position (in units) << 8 | slot id of the latest claimer.
struct tail_word {
  static constexpr std::uint64_t pack(std::uint64_t end, std::uint32_t claimer) {
    return (end << 8) | claimer;
  }
  static constexpr std::uint64_t end(std::uint64_t t) { return t >> 8; }
  static constexpr std::uint32_t claimer(std::uint64_t t) { return t & 0xff; }
};

/// A frame entry's stamp: lap tag (30 bits) | state (2) | sender slot id (8) | units (24).
/// The lap tag is (lap + 1) mod 2^30, so a zeroed entry never matches lap 0.
enum class frame_state : std::uint32_t { claimed = 0, published = 1, padding = 2, abandoned = 3 };

struct stamp {
  static constexpr std::uint32_t tag_bits = 30;
  static constexpr std::uint32_t tag_mask = (1u << tag_bits) - 1;
  static constexpr std::uint32_t max_units = (1u << 24) - 1;

  static constexpr std::uint32_t tag_of_lap(std::uint64_t lap) {
    return static_cast<std::uint32_t>((lap + 1) & tag_mask);
  }
  static constexpr std::uint64_t pack(std::uint32_t tag, frame_state s, std::uint32_t sender,
                                      std::uint32_t units) {
    return (std::uint64_t{tag} << 34) | (std::uint64_t{static_cast<std::uint32_t>(s)} << 32) |
           (std::uint64_t{sender} << 24) | units;
  }
  static constexpr std::uint32_t tag(std::uint64_t v) { return static_cast<std::uint32_t>(v >> 34); }
  static constexpr frame_state state(std::uint64_t v) {
    return static_cast<frame_state>((v >> 32) & 3);
  }
  static constexpr std::uint32_t sender(std::uint64_t v) { return (v >> 24) & 0xff; }
  static constexpr std::uint32_t units(std::uint64_t v) { return v & max_units; }
  /// Whether `v` says "published" with lap tag `tag` (one compare: the fast path's test).
  static constexpr bool is_published_of(std::uint64_t v, std::uint32_t tag) {
    return (v >> 32) == ((std::uint64_t{tag} << 2) | static_cast<std::uint32_t>(frame_state::published));
  }
};

struct ring_control {
  alignas(cache_line) std::atomic<std::uint64_t> tail;  ///< tail_word; CAS by senders
  alignas(cache_line) wait_cell data_wait;              ///< receivers park here for data
  alignas(cache_line) wait_cell space_wait;             ///< senders park here for space
  alignas(cache_line) std::atomic<std::uint32_t> membership;  ///< bumped on connect/leave
  alignas(cache_line) futex_counters futex;
};
static_assert(std::is_standard_layout_v<ring_control>);
static_assert(sizeof(ring_control) == 5 * cache_line);
static_assert(offsetof(ring_control, data_wait) == 1 * cache_line);
static_assert(offsetof(ring_control, space_wait) == 2 * cache_line);
static_assert(offsetof(ring_control, membership) == 3 * cache_line);
static_assert(offsetof(ring_control, futex) == 4 * cache_line);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

/// A process token: pid (22 bits) << 41 | start time (low 41 bits). 0 = free.
/// Bit 63 (transient) marks a slot held for a moment by the process it names: a receiver
/// slot still connecting, or a dead sender's slot whose claim that process is settling.
/// Senders skip transient receiver slots; nobody takes a transient sender slot while the
/// settling process lives (settling takes microseconds), and whoever finds the settler
/// dead settles the claim again or takes the slot over.
struct owner_token {
  static constexpr std::uint64_t transient_bit = 1ull << 63;
  static constexpr std::uint64_t start_mask = (1ull << 41) - 1;
  static std::uint64_t of(const platform::process_id& p) {
    return (std::uint64_t{p.pid} << 41) | (p.start_time & start_mask);
  }
  static platform::process_id process(std::uint64_t token) {
    token &= ~transient_bit;
    return {static_cast<std::uint32_t>(token >> 41), token & start_mask};
  }
};

/// Which slot lock (platform::take_slot_lock's index) is a slot's death signal: held by
/// the slot's owner for as long as the owner word names it (see "Crashes" above). A
/// fixed scheme, the same in every process whatever its options: sender ids are 1..255,
/// receiver indexes 0..4095.
struct slot_lock_index {
  static constexpr std::uint32_t of_sender(std::uint32_t id) { return id - 1; }
  static constexpr std::uint32_t of_receiver(std::uint32_t index) { return 256 + index; }
};

struct sender_slot {
  alignas(cache_line) std::atomic<std::uint64_t> owner;  ///< owner_token, 0 = free
  std::atomic<std::uint64_t> intent_start;  ///< start (units) of the claim being made
  std::atomic<std::uint32_t> intent_units;  ///< its size (units)
  std::atomic<std::uint32_t> next_seq;      ///< sequence number of its next message
};
static_assert(std::is_standard_layout_v<sender_slot> && sizeof(sender_slot) == cache_line);

struct receiver_slot {
  alignas(cache_line) std::atomic<std::uint64_t> owner;  ///< owner_token, 0 = free
  std::atomic<std::uint64_t> position;  ///< next unit to read: senders never pass it by a ring
};
static_assert(std::is_standard_layout_v<receiver_slot> && sizeof(receiver_slot) == cache_line);

struct frame_entry {
  std::atomic<std::uint64_t> stamp;  ///< see `stamp`; the publication word
  std::atomic<std::uint64_t> info;   ///< payload length (low 32) | sender sequence (high 32)
};
static_assert(std::is_standard_layout_v<frame_entry> && sizeof(frame_entry) == 16);

/// Where each part of the body is, computed from the geometry alone (never read from
/// shared memory, so a hostile segment cannot move them).
struct ring_layout {
  std::size_t senders_offset, receivers_offset, entries_offset, data_offset, body_size;
  std::uint64_t units;  ///< data ring size in units (a power of two)
  std::uint32_t lap_shift;  ///< log2(units): a position's lap is position >> lap_shift

  static ring_layout of(const segment_geometry& g);
};

/// Options of an endpoint, resolved (the public channel_options after defaults).
struct ring_options {
  channel_kind kind = channel_kind::channel;
  overflow_policy policy = overflow_policy::block;
  std::size_t capacity = 0;          ///< ring bytes, a power of two
  std::size_t max_message_size = 0;  ///< bytes
  std::uint32_t max_receivers = 0;
  std::uint32_t max_senders = 0;
  segment_options segment;
  std::chrono::nanoseconds stall_timeout{};
  spin_policy spin;
};

/// A frame held by a sender (claimed, being written) or a receiver (being read).
struct frame_ref {
  std::uint64_t position = 0;  ///< in units
  std::uint32_t units = 0;
  std::uint32_t length = 0;
  std::uint32_t sender = 0;    ///< slot id of its sender (1-based)
  std::uint32_t seq = 0;       ///< the sender's sequence number (received frames)
  std::byte* data = nullptr;
  inline explicit operator bool() const noexcept { return data != nullptr; }
};

}  // namespace coipc::detail

// ---- For the ring's implementation files (not exported) ----------------------------------
//
// ring.cpp (life cycle), ring_membership.cpp (connecting, leaving, evicting),
// ring_send.cpp (claiming, publishing, settling claims) and ring_receive.cpp (reading,
// laps, loss accounting) share these.

namespace coipc::detail {

/// A sender slot's intent_start when it has no claim outstanding.
inline constexpr std::uint64_t no_intent = ~0ull;

enum class lap_relation { same, behind, ahead };

/// Compares an entry's lap tag with the tag expected at a position (modulo 2^30).
inline lap_relation relation(std::uint32_t entry_tag, std::uint32_t want_tag) {
  if (entry_tag == want_tag) return lap_relation::same;
  std::uint32_t diff = (entry_tag - want_tag) & stamp::tag_mask;
  return diff < (1u << (stamp::tag_bits - 1)) ? lap_relation::ahead : lap_relation::behind;
}

/// Units a frame of `length` payload bytes takes (an empty message takes one).
inline std::uint32_t units_for(std::size_t length) {
  return static_cast<std::uint32_t>(std::max<std::size_t>(1, (length + unit_bytes - 1) / unit_bytes));
}

}  // namespace coipc::detail
