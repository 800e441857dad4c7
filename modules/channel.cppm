// coipc:channel — the typed front ends: route<T> (one sender) and channel<T> (many senders),
// both broadcasting every message to every receiver, with blocking, try and timed calls,
// and zero-copy loan (send) and view (receive).
//
// T is a trivially copyable type (sent by value, sizeof(T) bytes a message) or
// coipc::bytes (variable-length messages up to max_message_size). Every operation has an
// overload that throws std::system_error and one that takes std::error_code&.
//
// An endpoint (a route/channel object) is not thread-safe: open one per thread; each is a
// mapping of the segment plus a sender and/or receiver slot.
module;
#include <algorithm>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>
export module coipc:channel;
import :error;
import :segment;
import :wait;
import :ring;
import :endpoint;
import :message;
import :zero_copy;
import :async_port;

export namespace coipc {

/// Which directions an endpoint takes part in.
enum class role : unsigned { sender = 1, receiver = 2, both = 3 };

struct channel_options {
  /// Data ring size in bytes, a power of two (4 KiB .. 1 TiB); 0 picks a default: 256 KiB
  /// (or 256 messages) for typed channels; for bytes, 256 KiB, or four largest messages
  /// when max_message_size asks for more (1 MiB messages: a 4 MiB ring).
  std::size_t capacity = 0;
  /// Largest message of a bytes channel, at most half the capacity; 0 picks
  /// min(1 MiB, capacity / 2): 128 KiB with the default capacity. Typed channels always
  /// use sizeof(T).
  std::size_t max_message_size = 0;
  std::uint32_t max_receivers = 256;
  std::uint32_t max_senders = 32;  ///< channel only; a route has exactly one sender
  overflow_policy overflow = overflow_policy::block;
  open_mode mode = open_mode::create_or_open;
  access permissions = access::owner;
  /// How long a call waits on a peer that makes no progress (a frame claimed but not
  /// published, a receiver a whole ring behind) before checking whether it died.
  std::chrono::milliseconds stall_timeout{100};
  spin_policy spin{};
};

/// A connection to a named channel; see route<T> and channel<T>.
template <class T, detail::channel_kind Kind>
class basic_channel {
  static_assert(payload_type<T>,
                "coipc: a message type must be trivially copyable (no pointers to the sender's "
                "memory, no std::string or std::vector) with alignment <= 64; use "
                "coipc::bytes for variable-length messages");

 public:
  static constexpr bool is_bytes = std::is_same_v<T, bytes>;
  using send_type = std::conditional_t<is_bytes, byte_view, T>;
  using recv_type = std::conditional_t<is_bytes, message, T>;
  using duration = std::chrono::nanoseconds;

  basic_channel() = default;
  basic_channel(std::string_view name, role r, const channel_options& options = {}) {
    std::error_code ec;
    open(name, r, options, ec);
    detail::throw_if(ec);
  }
  basic_channel(std::string_view name, role r, const channel_options& options, std::error_code& ec) {
    open(name, r, options, ec);
  }

  // ---- sending ----
  void send(const send_type& v) { throwing([&](auto& ec) { return send(v, ec); }); }
  bool send(const send_type& v, std::error_code& ec) { return put(v, detail::wait_mode::forever(), ec); }
  /// False when the ring is full (block policy); throws on errors.
  bool try_send(const send_type& v) { return soft(errc::would_block, [&](auto& ec) { return try_send(v, ec); }); }
  bool try_send(const send_type& v, std::error_code& ec) { return put(v, detail::wait_mode::try_once(), ec); }
  /// False when no space came within `timeout`; throws on errors.
  bool send_for(const send_type& v, duration timeout) {
    return soft(errc::timeout, [&](auto& ec) { return send_for(v, timeout, ec); });
  }
  bool send_for(const send_type& v, duration timeout, std::error_code& ec) {
    return put(v, detail::wait_mode::for_duration(timeout), ec);
  }

  /// Loans space for one message (for bytes: `length` bytes) in the ring, blocking for it.
  coipc::loan<T> loan(std::size_t length = is_bytes ? 0 : sizeof(T)) {
    std::error_code ec;
    auto l = loan(length, ec);
    detail::throw_if(ec);
    return l;
  }
  coipc::loan<T> loan(std::size_t length, std::error_code& ec) {
    detail::frame_ref f;
    if (!ep().claim(is_bytes ? length : sizeof(T), detail::wait_mode::forever(), f, ec)) return {};
    return coipc::loan<T>(ep_, f);
  }

  // ---- receiving ----
  recv_type recv() { return throwing_value([&](auto& ec) { return recv(ec); }); }
  recv_type recv(std::error_code& ec) {
    recv_type out{};
    get(out, detail::wait_mode::forever(), ec);
    return out;
  }
  /// Empty when there is no message now; throws on errors.
  std::optional<recv_type> try_recv() {
    return soft_value(errc::would_block, [&](auto& ec) { return try_recv(ec); });
  }
  std::optional<recv_type> try_recv(std::error_code& ec) {
    recv_type out{};
    if (!get(out, detail::wait_mode::try_once(), ec)) return std::nullopt;
    return out;
  }
  /// Empty when no message came within `timeout`; throws on errors.
  std::optional<recv_type> recv_for(duration timeout) {
    return soft_value(errc::timeout, [&](auto& ec) { return recv_for(timeout, ec); });
  }
  std::optional<recv_type> recv_for(duration timeout, std::error_code& ec) {
    recv_type out{};
    if (!get(out, detail::wait_mode::for_duration(timeout), ec)) return std::nullopt;
    return out;
  }

  /// Receives the next bytes message into `buffer` (blocking) and returns its length: no
  /// allocation. A message longer than the buffer fails with errc::message_too_large and
  /// stays unread (the next call gets it); its length is in the error message.
  std::size_t recv_into(std::span<std::byte> buffer) requires is_bytes {
    return throwing_value([&](auto& ec) { return recv_into(buffer, ec); });
  }
  std::size_t recv_into(std::span<std::byte> buffer, std::error_code& ec) requires is_bytes {
    return receive_into(buffer, detail::wait_mode::forever(), ec);
  }
  std::size_t recv_into(std::span<char> buffer) requires is_bytes { return recv_into(std::as_writable_bytes(buffer)); }
  std::size_t recv_into(std::span<char> buffer, std::error_code& ec) requires is_bytes {
    return recv_into(std::as_writable_bytes(buffer), ec);
  }
  /// The same, only if a message is there now (empty otherwise) / within `timeout`.
  std::optional<std::size_t> try_recv_into(std::span<std::byte> buffer) requires is_bytes {
    return soft_value(errc::would_block, [&](auto& ec) { return try_recv_into(buffer, ec); });
  }
  std::optional<std::size_t> try_recv_into(std::span<std::byte> buffer, std::error_code& ec) requires is_bytes {
    const std::size_t n = receive_into(buffer, detail::wait_mode::try_once(), ec);
    return ec ? std::nullopt : std::optional<std::size_t>(n);
  }
  std::optional<std::size_t> recv_into_for(std::span<std::byte> buffer, duration timeout) requires is_bytes {
    return soft_value(errc::timeout, [&](auto& ec) { return recv_into_for(buffer, timeout, ec); });
  }
  std::optional<std::size_t> recv_into_for(std::span<std::byte> buffer, duration timeout,
                                           std::error_code& ec) requires is_bytes {
    const std::size_t n = receive_into(buffer, detail::wait_mode::for_duration(timeout), ec);
    return ec ? std::nullopt : std::optional<std::size_t>(n);
  }
  /// Receives the next bytes message into `m`, reusing its storage (no allocation once
  /// its capacity suffices).
  void recv(message& m) requires is_bytes { throwing([&](auto& ec) { return recv(m, ec); }); }
  bool recv(message& m, std::error_code& ec) requires is_bytes {
    return get(m, detail::wait_mode::forever(), ec);
  }

  /// The next message, read in place (blocking).
  coipc::view<T> view() {
    std::error_code ec;
    auto v = view(ec);
    detail::throw_if(ec);
    return v;
  }
  coipc::view<T> view(std::error_code& ec) { return view_with(detail::wait_mode::forever(), ec); }
  /// The next message read in place if one is there now (an empty view otherwise);
  /// throws on errors.
  coipc::view<T> try_view() {
    return soft_value(errc::would_block, [&](auto& ec) { return try_view(ec); });
  }
  coipc::view<T> try_view(std::error_code& ec) { return view_with(detail::wait_mode::try_once(), ec); }
  /// The next message read in place, waiting at most `timeout` (an empty view then);
  /// throws on errors.
  coipc::view<T> view_for(duration timeout) {
    return soft_value(errc::timeout, [&](auto& ec) { return view_for(timeout, ec); });
  }
  coipc::view<T> view_for(duration timeout, std::error_code& ec) {
    return view_with(detail::wait_mode::for_duration(timeout), ec);
  }

  // ---- the channel ----
  std::uint32_t receiver_count() const noexcept { return ep().receiver_count(); }
  /// Waits until at least `n` receivers are connected; false on timeout.
  bool wait_for_receivers(std::uint32_t n, duration timeout) {
    return soft(errc::timeout, [&](auto& ec) { return wait_for_receivers(n, timeout, ec); });
  }
  bool wait_for_receivers(std::uint32_t n, duration timeout, std::error_code& ec) {
    return ep().wait_for_receivers(n, detail::wait_mode::for_duration(timeout), ec);
  }
  /// Messages this receiver lost to the overwrite policy (always 0 under block): the gaps
  /// in each sender's message numbers, known when its next message arrives. A send cut
  /// short by its sender's death counts as lost too.
  std::uint64_t lost() const noexcept { return ep().lost(); }
  channel_stats stats() const noexcept { return ep().stats(); }
  std::size_t max_message_size() const noexcept { return ep().max_message_size(); }
  std::uint32_t sender_id() const noexcept { return ep().sender_id(); }
  bool is_open() const noexcept { return ep().is_open(); }
  /// Leaves the channel: frees this endpoint's slots. Later calls fail with errc::closed.
  /// Loans and views taken before stay safe: the mapping lives as long as they do; a loan
  /// committed after close() publishes nothing.
  void close() noexcept { ep().close(/*keep_mapping=*/ep_.owners() > 1); }

  /// The channel as a coroutine layer sees it (coipc.asio): see coipc:async_port.
  async_support::channel_port port() noexcept { return async_support::channel_port(ep()); }

  basic_channel(basic_channel&&) noexcept = default;
  basic_channel& operator=(basic_channel&& o) noexcept {
    if (this != &o) {
      close();
      ep_ = std::move(o.ep_);
    }
    return *this;
  }
  ~basic_channel() { close(); }

 private:
  void open(std::string_view name, role r, const channel_options& o, std::error_code& ec) {
    detail::ring_options ro;
    ro.kind = Kind;
    ro.policy = o.overflow;
    if constexpr (is_bytes) {
      // Small by default (a few hundred channels must not cost gigabytes: the segment is
      // populated at open), large messages one option away.
      constexpr std::size_t default_capacity = std::size_t{256} << 10;
      constexpr std::size_t default_max_message = std::size_t{1} << 20;
      if (o.max_message_size) {
        ro.max_message_size = o.max_message_size;
        ro.capacity = o.capacity ? o.capacity
                                 : std::max(default_capacity, std::bit_ceil(o.max_message_size * 4));
      } else {
        ro.capacity = o.capacity ? o.capacity : default_capacity;
        ro.max_message_size = std::min(default_max_message, ro.capacity / 2);
      }
    } else {
      ro.max_message_size = sizeof(T);
      const std::size_t frame = (sizeof(T) + detail::unit_bytes - 1) / detail::unit_bytes * detail::unit_bytes;
      ro.capacity = o.capacity ? o.capacity
                               : std::max<std::size_t>(256 << 10, std::bit_ceil(std::max<std::size_t>(frame, 64) * 256));
    }
    ro.max_receivers = o.max_receivers;
    ro.max_senders = Kind == detail::channel_kind::route ? 1 : o.max_senders;
    ro.segment = {o.mode, o.permissions};
    ro.stall_timeout = o.stall_timeout;
    ro.spin = o.spin;
    const type_fingerprint type = is_bytes ? bytes_fingerprint() : fingerprint_of<T>();
    const auto roles = static_cast<unsigned>(r);
    ep().open(name, type, ro, roles & 1u, roles & 2u, ec);
  }

  bool put(const send_type& v, const detail::wait_mode& mode, std::error_code& ec) {
    if constexpr (is_bytes) {
      return ep().send(v.bytes(), mode, ec);
    } else {
      return ep().send(std::as_bytes(std::span(&v, 1)), mode, ec);
    }
  }

  bool get(recv_type& out, const detail::wait_mode& mode, std::error_code& ec) {
    for (;;) {
      detail::frame_ref f;
      if (!ep().begin_read(mode, f, ec)) return false;
      if constexpr (is_bytes) {
        out.data.assign(f.data, f.data + f.length);
        out.sender = f.sender;
      } else {
        if (f.length != sizeof(T)) return wrong_size(f, ec);
        std::memcpy(&out, f.data, sizeof(T));
      }
      if (ep().end_read(f)) return true;
      // Overwritten while we copied it (overwrite policy): counted lost; take the next.
    }
  }

  std::size_t receive_into(std::span<std::byte> buffer, const detail::wait_mode& mode, std::error_code& ec) {
    for (;;) {
      detail::frame_ref f;
      if (!ep().begin_read(mode, f, ec)) return 0;
      const std::size_t length = f.length;
      if (length > buffer.size()) {
        // Nothing consumed: the frame stays at this receiver's position.
        detail::fail(ec, errc::message_too_large,
                     "channel '" + ep().name() + "': the next message has " + std::to_string(length) +
                         " B, the buffer " + std::to_string(buffer.size()) + " B (nothing was consumed)");
        return 0;
      }
      if (length) std::memcpy(buffer.data(), f.data, length);
      if (ep().end_read(f)) return length;
      // Overwritten while we copied it (overwrite policy): counted lost; take the next.
    }
  }

  coipc::view<T> view_with(const detail::wait_mode& mode, std::error_code& ec) {
    detail::frame_ref f;
    if (!ep().begin_read(mode, f, ec)) return {};
    // A typed view reads sizeof(T) bytes: a frame of another length (a corrupt or hostile
    // segment) would make *v read past the frame, or past the mapping.
    if (!is_bytes && f.length != sizeof(T)) return wrong_size(f, ec), coipc::view<T>{};
    return coipc::view<T>(ep_, f);
  }

  bool wrong_size(detail::frame_ref& f, std::error_code& ec) {
    const std::uint32_t length = f.length;
    ep().end_read(f);
    return detail::fail(ec, errc::corrupt_segment,
                        "channel '" + ep().name() + "': frame of " + std::to_string(length) +
                            " B where the payload type has " + std::to_string(sizeof(T)) + " B");
  }

  template <class F>
  static void throwing(F&& f) {
    std::error_code ec;
    f(ec);
    detail::throw_if(ec);
  }
  template <class F>
  static auto throwing_value(F&& f) {
    std::error_code ec;
    auto v = f(ec);
    detail::throw_if(ec);
    return v;
  }
  // Calls that report one expected outcome (would_block, timeout) as false/empty.
  template <class F>
  static bool soft(errc expected, F&& f) {
    std::error_code ec;
    bool ok = f(ec);
    if (ec) [[unlikely]] {
      if (ec != expected) detail::throw_error(ec);
      return false;
    }
    return ok;
  }
  // One named result, returned on every path (no copy or move of a view or loan).
  template <class F>
  static auto soft_value(errc expected, F&& f) {
    std::error_code ec;
    auto v = f(ec);
    if (ec) [[unlikely]] {
      if (ec != expected) detail::throw_error(ec);
      v = decltype(v){};
    }
    return v;
  }

  // The endpoint of an open (or closed) channel; empty only in a moved-from object, whose
  // calls then fail as on a never-opened one.
  detail::endpoint& ep() const noexcept { return ep_ ? *ep_ : unopened(); }
  static detail::endpoint& unopened() noexcept {
    static detail::endpoint never_opened;  // calls on it fail before touching any state
    return never_opened;
  }

  detail::shared_endpoint ep_ = detail::shared_endpoint::make();
};

/// One sender, any number of receivers; every receiver gets every message.
template <class T>
using route = basic_channel<T, detail::channel_kind::route>;

/// Any number of senders and receivers; every receiver gets every message, in one order.
template <class T>
using channel = basic_channel<T, detail::channel_kind::channel>;

}  // namespace coipc
