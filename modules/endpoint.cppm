// coipc:endpoint — one process's connection to a ring: the mapped ring as both roles see
// it (ring_view), the sending half (ring_sender), the receiving half (ring_receiver), and
// the endpoint that holds a mapping and one or both halves.
//
// The halves keep only their own role's state; what both need (where the shared parts
// are, the options, this process's token, the slot locks, and the operations on peers'
// slots: judging an owner dead, evicting, settling a dead sender's claim) is the view's.
// The algorithm's essay is in ring.cppm; the code is in ring.cpp (the view and the
// endpoint's life cycle), ring_membership.cpp (connecting, leaving, evicting), ring_send.cpp
// and ring_receive.cpp.
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
#include <vector>
export module coipc:endpoint;
import :error;
import :platform;
import :segment;
import :wait;
import :ring;

export namespace coipc::detail {

/// Whether a call would make progress now, for a waiter on another thread (coipc.asio).
enum class readiness {
  ready,        ///< a call now would make progress
  waiting,      ///< nothing to do until a peer acts (park without a timeout)
  in_progress,  ///< a peer is mid-way (claim unpublished, ring full): park at most stall_timeout
};

/// The mapped ring as both roles see it: the shared parts, the options, this process's
/// owner token, and the segment file's description, whose slot locks are this endpoint's
/// death signals (see "Crashes" in ring.cppm). Not owning: the endpoint maps and unmaps.
class ring_view {
 public:
  // The shared layout's parts, inline: every message goes through them.
  inline ring_control& control() const noexcept { return *reinterpret_cast<ring_control*>(base_); }
  inline sender_slot& sender_at(std::uint32_t id) const noexcept {  // id is 1-based
    return reinterpret_cast<sender_slot*>(base_ + layout_.senders_offset)[id - 1];
  }
  inline receiver_slot& receiver_at(std::uint32_t index) const noexcept {
    return reinterpret_cast<receiver_slot*>(base_ + layout_.receivers_offset)[index];
  }
  inline frame_entry& entry_at(std::uint64_t position) const noexcept {
    return reinterpret_cast<frame_entry*>(base_ + layout_.entries_offset)[position & (layout_.units - 1)];
  }
  inline std::byte* data_at(std::uint64_t position) const noexcept {
    return base_ + layout_.data_offset + (position & (layout_.units - 1)) * unit_bytes;
  }
  /// The data ring's size in units.
  inline std::uint64_t units() const noexcept { return layout_.units; }
  /// The lap tag a frame starting at `position` carries (a shift: units is a power of two).
  inline std::uint32_t tag_at(std::uint64_t position) const noexcept {
    return stamp::tag_of_lap(position >> layout_.lap_shift);
  }
  inline bool is_mapped() const noexcept { return base_ != nullptr; }
  inline const ring_options& options() const noexcept { return options_; }
  inline const std::string& name() const noexcept { return name_; }
  /// This process's owner token (pid and start time).
  inline std::uint64_t token() const noexcept { return token_; }

  // The overflow policy, in the two questions the algorithm asks of it (block: yes, no;
  // overwrite: no, yes). Every policy-dependent step asks one of these.
  /// Senders wait for the slowest live receiver: receivers' positions gate the ring, and
  /// a receiver moving on wakes the senders parked for space.
  inline bool gates_on_receivers() const noexcept { return options_.policy == overflow_policy::block; }
  /// A frame may be overwritten under its reader: reads are validated afterwards, a
  /// lapped reader skips ahead, losses are counted, and a publish must not clobber a
  /// newer lap's stamp.
  inline bool may_be_lapped() const noexcept { return options_.policy == overflow_policy::overwrite; }

  // Slot owners' lives (see "Crashes" in ring.cppm).
  /// Whether `owner`, found in the slot whose death signal is lock `lock_index`, is dead:
  /// platform::is_alive proves it (fast path), or nobody holds the slot's lock. Alive when
  /// the lock is held or cannot be queried, and for the slots this endpoint holds itself.
  bool owner_dead(std::uint32_t lock_index, std::uint64_t owner) const noexcept;
  enum class lock_take {
    taken,   ///< ours now
    busy,    ///< another description holds it: a live process is using the slot
    failed,  ///< the system refused (ec set)
  };
  lock_take take_slot_lock(std::uint32_t lock_index, std::error_code& ec) const noexcept;
  void release_slot_lock(std::uint32_t lock_index) const noexcept;
  /// Records that this endpoint holds slot lock `lock_index` as its own death signal for as
  /// long as it owns the slot (our own description never conflicts with itself, so its
  /// lock would look free to owner_dead). At most one sender and one receiver slot.
  void hold_own_slot(std::uint32_t lock_index) noexcept;
  void drop_own_slot(std::uint32_t lock_index) noexcept;

  // Peers' slots: what both roles do to the slots of others.
  /// Live receivers (connecting ones not counted).
  std::uint32_t receiver_count() const noexcept;
  /// `judged_owner` of receiver slot `index` was found dead: frees the slot, provided it
  /// still belongs to exactly that owner (see ring_membership.cpp).
  void evict_dead_receiver(std::uint32_t index, std::uint64_t judged_owner) const noexcept;
  /// Settles slot `sender_id`'s outstanding claim (abandons it unless published). Only
  /// for a claim whose maker cannot write the intent meanwhile: our own, or a dead
  /// owner's while we hold its slot (settle_dead_sender).
  void abandon_claim_of(std::uint32_t sender_id) const noexcept;
  /// `observed_owner` of slot `sender_id` was found dead: settles its claim, provided the
  /// slot still belongs to exactly that owner, and frees the slot. A slot that changed
  /// hands meanwhile is left alone (its new owner settled the old claim when it took over),
  /// and so is one whose lock a live process holds (it is taking the slot over or settling
  /// it).
  void settle_dead_sender(std::uint32_t sender_id, std::uint64_t observed_owner) const noexcept;
  /// Wakes the parked on both cells after one fence (a publication or a settled claim
  /// can satisfy receivers and senders waiting for space alike). Inline: once a message.
  inline void notify_data_and_space() const noexcept {
    ring_control& ctl = control();
    // One fence serves both cells: notify_parked's F2 (see coipc:wait), hoisted.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    notify_parked_fenced(ctl.data_wait, ctl.futex);
    notify_parked_fenced(ctl.space_wait, ctl.futex);
  }
  channel_stats stats() const noexcept;

 private:
  friend class endpoint;  // maps and unmaps the segment
  static constexpr std::uint32_t no_lock = ~0u;
  std::byte* base_ = nullptr;  // body; null while unmapped
  ring_layout layout_{};
  ring_options options_{};
  std::string name_;  // kept after close, for error messages
  std::uint64_t token_ = 0;
  int fd_ = -1;  // the segment's descriptor: its description holds our slot locks
  std::uint32_t own_sender_lock_ = no_lock, own_receiver_lock_ = no_lock;
};

/// The sending half: a sender slot, its claim, and the space gate. One claim at a time.
class ring_sender {
 public:
  bool connect(ring_view& ring, std::error_code& ec);
  /// Leaves the slot; an outstanding claim (a loan never committed) is abandoned.
  void leave(ring_view& ring) noexcept;
  inline bool connected() const noexcept { return id_ != 0; }
  /// The slot id (1-based; 0 when not connected).
  inline std::uint32_t id() const noexcept { return id_; }

  // Claim space for `length` bytes (waiting per `mode` under the block policy), write into
  // frame.data, then commit (publish) or abandon.
  bool claim(const ring_view& ring, std::size_t length, const wait_mode& mode, frame_ref& frame,
             std::error_code& ec);
  void commit(const ring_view& ring, frame_ref& frame, std::size_t length) noexcept;
  void abandon(const ring_view& ring, frame_ref& frame) noexcept;
  bool send(const ring_view& ring, std::span<const std::byte> payload, const wait_mode& mode,
            std::error_code& ec);
  readiness send_readiness(const ring_view& ring, std::size_t length) const noexcept;
  /// The next call that finds the ring full checks the laggards' lives at once.
  inline void expire_stall_clock() noexcept { stall_at_ = std::chrono::steady_clock::time_point::min(); }

 private:
  bool claim_units(const ring_view& ring, std::uint32_t units, frame_state initial, const wait_mode& mode,
                   std::uint64_t& start, std::error_code& ec);
  /// Records the claim `tail` names in its frame's stamp if its claimer has not yet (the
  /// invariant in "Claiming space": every sender helps before its own tail CAS).
  void record_latest_claim(const ring_view& ring, std::uint64_t tail) const noexcept;
  bool has_space(const ring_view& ring, std::uint64_t end, std::uint32_t need) noexcept;
  /// The lowest position still in use: the slowest receiver's (block policy) and the
  /// oldest claim another sender is still writing; tail.end when none. A query only.
  std::uint64_t lowest_in_use(const ring_view& ring) const noexcept;
  /// A sender that waited stall_timeout for space: evicts the dead receivers and settles
  /// the dead senders' claims among the peers that hold positions below `below`.
  void reclaim_from_dead(const ring_view& ring, std::uint64_t below) const noexcept;

  std::uint32_t id_ = 0;         // 1-based slot id, 0 = not connected
  std::uint64_t cached_min_ = 0;  // the slowest position seen at the last rescan
  // When to check the laggards' lives: the clock runs across calls, so that polling with
  // try_ calls checks too.
  std::optional<std::chrono::steady_clock::time_point> stall_at_;
  // A loan (claim) not yet committed or abandoned: one intent per sender slot means one
  // claim at a time, so a second claim is refused until this one is settled.
  bool claim_outstanding_ = false;
};

/// The receiving half: a receiver slot, its read position, and the loss count.
class ring_receiver {
 public:
  bool connect(ring_view& ring, std::error_code& ec);
  void leave(ring_view& ring) noexcept;
  inline bool connected() const noexcept { return index_ >= 0; }

  // begin_read finds the next frame (waiting per `mode`), the caller reads it in place,
  // end_read moves past it.
  bool begin_read(const ring_view& ring, const wait_mode& mode, frame_ref& frame, std::error_code& ec);
  /// Under overwrite: whether the frame being read is still intact (not yet overwritten).
  bool intact(const ring_view& ring, const frame_ref& frame) const noexcept;
  /// Moves past the frame. Returns whether it was intact when done with (always under
  /// block); under overwrite, an overwritten frame counts as lost. `known_intact`: the
  /// reader already found it intact, so it counts as received whatever happened since.
  bool end_read(const ring_view& ring, frame_ref& frame, bool known_intact) noexcept;
  readiness receive_readiness(const ring_view& ring) const noexcept;
  inline std::uint64_t lost() const noexcept { return lost_; }
  /// The next call that finds a claim unpublished at our position checks its claimer's
  /// life at once.
  inline void expire_stall_clock() noexcept { stall_at_ = std::chrono::steady_clock::time_point::min(); }

 private:
  enum class next_frame_result { ready, empty, in_progress, corrupt };
  /// Finds the frame at our position, moving past padding, abandoned frames and
  /// (overwrite) whatever was lapped. `in_progress_by`: the claimer holding us.
  next_frame_result find_next_frame(const ring_view& ring, frame_ref& frame,
                                    std::uint32_t& in_progress_by) noexcept;
  /// Overwrite: moves to the oldest frame still in the ring.
  void skip_lapped(const ring_view& ring) noexcept;
  /// A claim at our position has stayed unpublished for stall_timeout: settles it if its
  /// claimer is dead (a slow live one is waited for).
  void settle_claim_if_dead(const ring_view& ring, std::uint32_t claimer) const noexcept;
  /// Publishes our new position (and wakes the senders it may free, under block).
  void advance(const ring_view& ring, std::uint64_t new_position) noexcept;

  std::int32_t index_ = -1;          // -1 = not connected
  std::uint64_t read_position_ = 0;  // the next frame (units)
  std::uint64_t lost_ = 0;
  std::vector<std::uint32_t> expected_seq_;  // per sender id, overwrite-mode loss counting
  // When to check a stalled claimer's life (see ring_sender::stall_at_).
  std::optional<std::chrono::steady_clock::time_point> stall_at_;
};

/// One connection to a channel: a mapping of its segment and a sender slot, a receiver
/// slot, or both. Not thread-safe: use one endpoint per thread (they are cheap: one
/// mapping and one slot each). Its calls check that it is open in the role they need,
/// then hand over to the half that plays it.
class endpoint {
 public:
  using readiness = detail::readiness;

  endpoint() = default;
  endpoint(endpoint&&) noexcept;
  endpoint& operator=(endpoint&&) noexcept;
  endpoint(const endpoint&) = delete;
  endpoint& operator=(const endpoint&) = delete;
  ~endpoint();

  bool open(std::string_view name, const type_fingerprint& type, const ring_options& options,
            bool as_sender, bool as_receiver, std::error_code& ec);

  // Sending: see ring_sender. (Defined beside the half's code, in ring_send.cpp, so that
  // each call is one call into the library with the half's step inlined, as before the
  // split; measured with scripts/instructions-per-message.sh.)
  bool claim(std::size_t length, const wait_mode& mode, frame_ref& frame, std::error_code& ec);
  void commit(frame_ref& frame, std::size_t length) noexcept;
  void abandon(frame_ref& frame) noexcept;
  bool send(std::span<const std::byte> payload, const wait_mode& mode, std::error_code& ec);

  // Receiving: see ring_receiver (defined in ring_receive.cpp, likewise).
  bool begin_read(const wait_mode& mode, frame_ref& frame, std::error_code& ec);
  bool intact(const frame_ref& frame) const noexcept;
  bool end_read(frame_ref& frame, bool known_intact = false) noexcept;

  // Readiness, for a waiter on another thread (coipc.asio): reads shared memory and state
  // that does not change while no receive (send) call runs on this endpoint.
  readiness receive_readiness() const noexcept;
  readiness send_readiness(std::size_t length) const noexcept;
  inline wait_cell& data_cell() const noexcept { return view_.control().data_wait; }
  /// Bumped (and woken, always) whenever a receiver connects or leaves.
  inline std::atomic<std::uint32_t>& membership_word() const noexcept { return view_.control().membership; }
  inline wait_cell& space_cell() const noexcept { return view_.control().space_wait; }
  inline futex_counters& counters() const noexcept { return view_.control().futex; }
  inline std::chrono::nanoseconds stall_timeout() const noexcept { return view_.options().stall_timeout; }
  inline bool is_receiver() const noexcept { return receiver_.connected(); }
  /// Makes the next receive (send) call that finds a peer stalled check its life at once:
  /// the waiter of coipc.asio has measured the stall itself. Call it where a receive (send)
  /// call could run, on the thread that would run it.
  inline void expire_recv_stall_clock() noexcept { receiver_.expire_stall_clock(); }
  inline void expire_send_stall_clock() noexcept { sender_.expire_stall_clock(); }

  inline std::uint32_t receiver_count() const noexcept { return is_open() ? view_.receiver_count() : 0; }
  bool wait_for_receivers(std::uint32_t n, wait_mode mode, std::error_code& ec);
  inline channel_stats stats() const noexcept { return view_.is_mapped() ? view_.stats() : channel_stats{}; }
  inline std::uint64_t lost() const noexcept { return receiver_.lost(); }
  inline std::size_t max_message_size() const noexcept { return view_.options().max_message_size; }
  inline bool is_open() const noexcept { return view_.is_mapped() && !closed_; }
  inline const std::string& name() const noexcept { return view_.name(); }
  /// This endpoint's sender slot id (1-based; 0 when not a sender).
  inline std::uint32_t sender_id() const noexcept { return sender_.id(); }
  /// Leaves the channel (frees the slots, settles an outstanding claim). The mapping stays
  /// while `keep_mapping` (loans or views still point into it) until the endpoint is
  /// destroyed or closed again without it.
  void close(bool keep_mapping = false) noexcept;

 private:
  // The check every call makes: inline (the arguments are constants at each call site);
  // the error's wording out of line.
  inline bool check_open(bool want_sender, bool want_receiver, std::error_code& ec) const {
    if (view_.is_mapped() && !closed_ && (!want_sender || sender_.connected()) &&
        (!want_receiver || receiver_.connected())) {
      return true;
    }
    return check_open_failed(want_sender, ec);
  }
  bool check_open_failed(bool want_sender, std::error_code& ec) const;

  segment segment_;
  ring_view view_;
  ring_sender sender_;
  ring_receiver receiver_;
  bool closed_ = false;
};

}  // namespace coipc::detail
