// coipc:zero_copy — loan (write a message in place, then commit) and view (read one in
// place), and the shared ownership of the endpoint that keeps both safe after their
// channel object is closed, moved or destroyed.
module;
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
export module coipc:zero_copy;
import :ring;
import :endpoint;
import :message;

export namespace coipc {

template <class T, detail::channel_kind Kind>
class basic_channel;

}  // namespace coipc

export namespace coipc::detail {

/// Shared ownership of an endpoint by its channel object and the loans and views taken
/// from it, so that a loan or view stays safe after close(), after the channel object is
/// moved (the endpoint stays where it is) and after it is destroyed. The count is not
/// atomic: like the endpoint, its loans and views belong to one thread at a time.
class shared_endpoint {
 public:
  shared_endpoint() = default;
  inline static shared_endpoint make() { return shared_endpoint(new box); }
  inline shared_endpoint(const shared_endpoint& o) noexcept : box_(o.box_) {
    if (box_) ++box_->refs;
  }
  inline shared_endpoint(shared_endpoint&& o) noexcept : box_(std::exchange(o.box_, nullptr)) {}
  inline shared_endpoint& operator=(shared_endpoint o) noexcept {
    std::swap(box_, o.box_);
    return *this;
  }
  inline ~shared_endpoint() {
    if (box_ && --box_->refs == 0) delete box_;
  }

  inline explicit operator bool() const noexcept { return box_ != nullptr; }
  inline endpoint* operator->() const noexcept { return &box_->ep; }
  inline endpoint& operator*() const noexcept { return box_->ep; }
  /// How many owners (the channel object, its loans and views).
  inline std::uint32_t owners() const noexcept { return box_ ? box_->refs : 0; }

 private:
  struct box {
    endpoint ep;
    std::uint32_t refs = 1;
  };
  inline explicit shared_endpoint(box* b) noexcept : box_(b) {}
  box* box_ = nullptr;
};

}  // namespace coipc::detail

export namespace coipc {

/// Space loaned from the ring: write in place, then commit(). Destroyed uncommitted, the
/// space is given back as a skipped frame.
template <class T>
class loan {
 public:
  loan() = default;
  loan(loan&& o) noexcept : ep_(std::move(o.ep_)), frame_(std::exchange(o.frame_, {})) {}
  loan& operator=(loan&& o) noexcept {
    if (this != &o) {
      reset();
      ep_ = std::move(o.ep_);
      frame_ = std::exchange(o.frame_, {});
    }
    return *this;
  }
  ~loan() { reset(); }

  explicit operator bool() const noexcept { return static_cast<bool>(frame_); }
  /// The loaned bytes (for bytes: as many as asked for; for T: sizeof(T)).
  std::span<std::byte> data() const noexcept { return {frame_.data, frame_.length}; }
  /// The same bytes as characters (to format text in place).
  std::span<char> chars() const noexcept {
    return {reinterpret_cast<char*>(frame_.data), frame_.length};
  }
  /// Copies `source` (any contiguous bytes or characters: a string_view, a char span, a
  /// {pointer, size} buffer) into the loan at `offset`; returns the bytes copied, at most
  /// what the loan has room for from there.
  std::size_t copy_from(byte_view source, std::size_t offset = 0) const noexcept
    requires std::is_same_v<T, bytes> {
    if (offset >= frame_.length) return 0;
    const std::size_t n = std::min(source.size(), frame_.length - offset);
    if (n) std::memcpy(frame_.data + offset, source.data(), n);
    return n;
  }
  T& operator*() const noexcept requires(!std::is_same_v<T, bytes>) {
    return *reinterpret_cast<T*>(frame_.data);
  }
  T* operator->() const noexcept requires(!std::is_same_v<T, bytes>) { return &**this; }

  /// Publishes the message (for bytes: its first `length` bytes, at most the loaned size).
  /// After the channel was closed (or destroyed) it publishes nothing: close() gave the
  /// space back. The loaned memory stays mapped until the loan is gone.
  void commit() noexcept { commit(frame_.length); }
  void commit(std::size_t length) noexcept {
    if (frame_) ep_->commit(frame_, std::min<std::size_t>(length, frame_.length));
  }

 private:
  template <class, detail::channel_kind>
  friend class basic_channel;
  loan(detail::shared_endpoint ep, detail::frame_ref f) : ep_(std::move(ep)), frame_(f) {}
  void reset() noexcept {
    if (frame_) ep_->abandon(frame_);
  }
  detail::shared_endpoint ep_;
  detail::frame_ref frame_;
};

/// A received message read in place. The ring keeps it (senders do not overwrite it)
/// until the view is destroyed. Under the overwrite policy nothing is kept: check
/// intact() after reading.
template <class T>
class view {
 public:
  view() = default;
  view(view&& o) noexcept
      : ep_(std::move(o.ep_)), frame_(std::exchange(o.frame_, {})),
        known_intact_(std::exchange(o.known_intact_, false)) {}
  view& operator=(view&& o) noexcept {
    if (this != &o) {
      reset();
      ep_ = std::move(o.ep_);
      frame_ = std::exchange(o.frame_, {});
      known_intact_ = std::exchange(o.known_intact_, false);
    }
    return *this;
  }
  ~view() { reset(); }

  explicit operator bool() const noexcept { return static_cast<bool>(frame_); }
  std::span<const std::byte> data() const noexcept { return {frame_.data, frame_.length}; }
  std::string_view text() const noexcept {
    return {reinterpret_cast<const char*>(frame_.data), frame_.length};
  }
  const T& operator*() const noexcept requires(!std::is_same_v<T, bytes>) {
    return *reinterpret_cast<const T*>(frame_.data);
  }
  const T* operator->() const noexcept requires(!std::is_same_v<T, bytes>) { return &**this; }
  std::uint32_t sender() const noexcept { return frame_.sender; }
  /// Whether the bytes read so far were not overwritten (always true under block). Its last
  /// answer decides how the message counts when the view is released: after a true, as
  /// received (the reader has what it read, whatever laps the frame since), not as lost.
  bool intact() const noexcept {
    if (!ep_ || !frame_) return false;
    known_intact_ = ep_->intact(frame_);
    return known_intact_;
  }

 private:
  template <class, detail::channel_kind>
  friend class basic_channel;
  view(detail::shared_endpoint ep, detail::frame_ref f) : ep_(std::move(ep)), frame_(f) {}
  void reset() noexcept {
    if (frame_) ep_->end_read(frame_, known_intact_);
    known_intact_ = false;
  }
  detail::shared_endpoint ep_;
  detail::frame_ref frame_;
  mutable bool known_intact_ = false;  // intact()'s last answer was true: the reader has it whole
};

}  // namespace coipc
