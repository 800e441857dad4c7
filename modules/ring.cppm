// coipc:ring — the broadcast ring in a segment: shared layout, and the endpoint that sends
// into it and receives from it. The algorithm's essay is at the top of ring.cpp.
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
module;
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
/// the slot's owner for as long as the owner word names it (see "Crashes" in ring.cpp). A
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

/// How long a call may wait: not at all (try_), until a deadline, or forever.
struct wait_mode {
  enum kind_t { none, until, forever } kind = forever;
  std::chrono::steady_clock::time_point deadline{};
  inline static wait_mode try_only() { return {none, {}}; }
  inline static wait_mode for_duration(std::chrono::nanoseconds d) {
    return {until, std::chrono::steady_clock::now() + d};
  }
  inline static wait_mode blocking() { return {forever, {}}; }
};

/// One connection to a channel: a sender slot, a receiver slot, or both. Not thread-safe:
/// use one endpoint per thread (they are cheap: one mapping and one slot each).
class endpoint {
 public:
  endpoint() = default;
  endpoint(endpoint&&) noexcept;
  endpoint& operator=(endpoint&&) noexcept;
  endpoint(const endpoint&) = delete;
  endpoint& operator=(const endpoint&) = delete;
  ~endpoint();

  bool open(std::string_view name, const type_fingerprint& type, const ring_options& options,
            bool as_sender, bool as_receiver, std::error_code& ec);

  // Sending: claim space for `length` bytes (waiting per `mode` under the block policy),
  // write into frame.data, then commit (publish) or abandon.
  bool claim(std::size_t length, wait_mode mode, frame_ref& frame, std::error_code& ec);
  void commit(frame_ref& frame, std::size_t length) noexcept;
  void abandon(frame_ref& frame) noexcept;
  bool send(std::span<const std::byte> payload, wait_mode mode, std::error_code& ec);

  // Receiving: acquire the next frame (waiting per `mode`), read it in place, release it.
  bool acquire(wait_mode mode, frame_ref& frame, std::error_code& ec);
  /// Under overwrite: whether the acquired frame is still intact (not yet overwritten).
  bool intact(const frame_ref& frame) const noexcept;
  /// Moves past the frame. Returns whether it was intact when released (always under
  /// block); under overwrite, an overwritten frame counts as lost.
  /// `known_intact`: the reader already found it intact (view::intact()), so it counts as
  /// received whatever happened to the frame since.
  bool release(frame_ref& frame, bool known_intact = false) noexcept;

  // Readiness, for a waiter on another thread (coipc.asio): reads shared memory and state
  // that does not change while no receive (send) call runs on this endpoint.
  enum class readiness {
    ready,        ///< a call now would make progress
    waiting,      ///< nothing to do until a peer acts (park without a timeout)
    in_progress,  ///< a peer is mid-way (claim unpublished, ring full): park at most stall_timeout
  };
  readiness receive_readiness() const noexcept;
  readiness send_readiness(std::size_t length) const noexcept;
  inline wait_cell& data_cell() const noexcept { return control().data_wait; }
  /// Bumped (and woken, always) whenever a receiver connects or leaves.
  inline std::atomic<std::uint32_t>& membership_word() const noexcept { return control().membership; }
  inline wait_cell& space_cell() const noexcept { return control().space_wait; }
  inline futex_counters& counters() const noexcept { return control().futex; }
  inline std::chrono::nanoseconds stall_timeout() const noexcept { return options_.stall_timeout; }
  inline bool is_receiver() const noexcept { return receiver_index_ >= 0; }
  /// Makes the next receive (send) call that finds a peer stalled check its life at once:
  /// the waiter of coipc.asio has measured the stall itself. Call it where a receive (send)
  /// call could run, on the thread that would run it.
  inline void expire_recv_stall_clock() noexcept {
    recv_stall_at_ = std::chrono::steady_clock::time_point::min();
  }
  inline void expire_send_stall_clock() noexcept {
    send_stall_at_ = std::chrono::steady_clock::time_point::min();
  }

  std::uint32_t receiver_count() const noexcept;
  bool wait_for_receivers(std::uint32_t n, wait_mode mode, std::error_code& ec);
  channel_stats stats() const noexcept;
  inline std::uint64_t lost() const noexcept { return lost_; }
  inline std::size_t max_message_size() const noexcept { return max_message_; }
  inline bool is_open() const noexcept { return base_ != nullptr && !closed_; }
  inline const std::string& name() const noexcept { return name_; }
  /// This endpoint's sender slot id (1-based; 0 when not a sender).
  inline std::uint32_t sender_id() const noexcept { return sender_id_; }
  /// Leaves the channel (frees the slots, settles an outstanding claim). The mapping stays
  /// while `keep_mapping` (loans or views still point into it) until the endpoint is
  /// destroyed or closed again without it.
  void close(bool keep_mapping = false) noexcept;

 private:
  // Layout access.
  inline ring_control& control() const noexcept { return *reinterpret_cast<ring_control*>(base_); }
  sender_slot& sender_at(std::uint32_t id) const noexcept;  // id is 1-based
  receiver_slot& receiver_at(std::uint32_t index) const noexcept;
  frame_entry& entry_at(std::uint64_t position) const noexcept;
  std::byte* data_at(std::uint64_t position) const noexcept;

  // The checks every call makes: inline (the arguments are constants at each call site);
  // the error's wording out of line.
  inline bool check_open(bool want_sender, bool want_receiver, std::error_code& ec) const {
    if (base_ && !closed_ && (!want_sender || sender_id_) && (!want_receiver || receiver_index_ >= 0)) {
      return true;
    }
    return check_open_failed(want_sender, ec);
  }
  bool check_open_failed(bool want_sender, std::error_code& ec) const;

  // Slot owners' lives (see "Crashes" in ring.cpp).
  /// Whether `owner`, found in the slot whose death signal is lock `lock_index`, is dead:
  /// platform::is_alive proves it (fast path), or nobody holds the slot's lock. Alive when
  /// the lock is held or cannot be queried, and for the slots this endpoint holds itself.
  bool owner_dead(std::uint32_t lock_index, std::uint64_t owner) const noexcept;
  bool holds_slot_lock(std::uint32_t lock_index) const noexcept;
  enum class lock_take {
    taken,   ///< ours now
    busy,    ///< another description holds it: a live process is using the slot
    failed,  ///< the system refused (ec set)
  };
  lock_take take_slot_lock(std::uint32_t lock_index, std::error_code& ec) const noexcept;
  void release_slot_lock(std::uint32_t lock_index) const noexcept;

  bool connect_sender(std::error_code& ec);
  bool connect_receiver(std::error_code& ec);
  void release_sender_slot() noexcept;
  void release_receiver_slot() noexcept;

  // Sender internals.
  bool claim_units(std::uint32_t units, frame_state initial, wait_mode mode,
                   std::uint64_t& start, std::error_code& ec);
  void help_record(std::uint64_t tail) noexcept;
  bool has_space(std::uint64_t end, std::uint32_t need) noexcept;
  /// The lowest position still in use: the slowest live receiver's (block policy) and the
  /// oldest claim another sender is still writing; tail.end when none. Peers behind
  /// `evict_dead_below` whose process is dead are evicted or have their claim settled on
  /// the way (0: none checked).
  std::uint64_t lowest_in_use(std::uint64_t evict_dead_below) const noexcept;
  /// Settles slot `sender_id`'s outstanding claim (abandons it unless published). Only
  /// for a claim whose maker cannot write the intent meanwhile: our own, or a dead
  /// owner's while we hold its slot (settle_dead_sender).
  void abandon_claim_of(std::uint32_t sender_id) noexcept;
  /// `observed_owner` of slot `sender_id` was found dead: settles its claim, provided the
  /// slot still belongs to exactly that owner, and frees the slot. A slot that changed
  /// hands meanwhile is left alone (its new owner settled the old claim when it took over),
  /// and so is one whose lock a live process holds (it is taking the slot over or settling
  /// it).
  void settle_dead_sender(std::uint32_t sender_id, std::uint64_t observed_owner) noexcept;
  /// Wakes the parked on both cells after one fence (a publication or a settled claim
  /// can satisfy receivers and senders waiting for space alike).
  void notify_data_and_space() noexcept;

  // Receiver internals.
  enum class peek_result { ready, empty, in_progress, corrupt };
  peek_result peek(frame_ref& frame, std::uint32_t& in_progress_by) noexcept;
  void skip_lapped() noexcept;
  void handle_stall(std::uint32_t claimer) noexcept;
  void advance(std::uint64_t new_position) noexcept;

  bool wait_until(wait_mode mode, std::chrono::steady_clock::time_point& next_stall_check,
                  std::error_code& ec, const char* what);

  segment segment_;
  std::string name_;  // kept after close(), for error messages
  std::byte* base_ = nullptr;  // body
  ring_layout layout_{};
  ring_options options_{};
  std::size_t max_message_ = 0;
  std::uint64_t token_ = 0;
  std::uint32_t sender_id_ = 0;       // 1-based slot id, 0 = not a sender
  std::int32_t receiver_index_ = -1;  // -1 = not a receiver
  std::uint64_t read_position_ = 0;   // receiver's next frame (units)
  std::uint64_t cached_min_ = 0;      // sender's cached slowest-receiver position
  std::uint64_t lost_ = 0;
  std::vector<std::uint32_t> expected_seq_;  // per sender id, overwrite-mode loss counting
  // When to check a stalled peer's life (a claim unpublished at our position; the ring
  // full): these clocks run across calls, so that polling with try_ calls checks too.
  std::optional<std::chrono::steady_clock::time_point> recv_stall_at_, send_stall_at_;
  bool closed_ = false;
  // A loan (claim) not yet committed or abandoned: one intent per sender slot means one
  // claim at a time, so a second claim is refused until this one is settled.
  bool claim_outstanding_ = false;
};

}  // namespace coipc::detail
