// coipc:message — what a channel carries: coipc::bytes (the tag for variable-length
// messages), a received coipc::message, and byte_view, the payload a bytes channel sends.
module;
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>
export module coipc:message;
import :ring;

export namespace coipc {

/// Payload tag for variable-length byte messages: route<bytes>, channel<bytes>.
struct bytes {};

/// A received variable-length message.
struct message {
  std::vector<std::byte> data;
  std::uint32_t sender = 0;  ///< the sender's slot id on this channel (1-based)
  inline std::string_view text() const noexcept {
    return {reinterpret_cast<const char*>(data.data()), data.size()};
  }
};

/// The payload of a bytes channel's send: any contiguous bytes or characters, not owned.
/// Converts implicitly from std::span<const std::byte>, std::string_view (and so string
/// literals and std::string), std::span<const char>, std::span<const unsigned char> and
/// containers of those (std::vector<std::byte>, std::vector<char>, ...); from a raw buffer
/// as {pointer, size}.
class byte_view {
 public:
  byte_view() = default;
  inline byte_view(std::span<const std::byte> bytes) noexcept : bytes_(bytes) {}
  byte_view(const void* data, std::size_t size) noexcept
      : bytes_(static_cast<const std::byte*>(data), size) {}
  template <class S>
    requires(std::is_convertible_v<const S&, std::span<const std::byte>> ||
             std::is_convertible_v<const S&, std::string_view> ||
             std::is_convertible_v<const S&, std::span<const char>> ||
             std::is_convertible_v<const S&, std::span<const unsigned char>>)
  inline byte_view(const S& source) noexcept {
    if constexpr (std::is_convertible_v<const S&, std::span<const std::byte>>) {
      bytes_ = std::span<const std::byte>(source);
    } else if constexpr (std::is_convertible_v<const S&, std::string_view>) {
      bytes_ = std::as_bytes(std::span<const char>(std::string_view(source)));
    } else if constexpr (std::is_convertible_v<const S&, std::span<const char>>) {
      bytes_ = std::as_bytes(std::span<const char>(source));
    } else {
      bytes_ = std::as_bytes(std::span<const unsigned char>(source));
    }
  }

  inline std::span<const std::byte> bytes() const noexcept { return bytes_; }
  inline const std::byte* data() const noexcept { return bytes_.data(); }
  inline std::size_t size() const noexcept { return bytes_.size(); }
  inline bool empty() const noexcept { return bytes_.empty(); }

 private:
  std::span<const std::byte> bytes_;
};

/// What a channel may carry: coipc::bytes, or a trivially copyable type whose alignment a
/// data unit satisfies.
template <class T>
concept payload_type = std::is_same_v<T, bytes> ||
                       (std::is_trivially_copyable_v<T> && alignof(T) <= detail::unit_bytes);

}  // namespace coipc
