// coipc:error — the error codes of coipc and how they are reported.
//
// coipc follows Asio's convention: every operation that can fail has an overload that
// takes `std::error_code&` and one that throws `std::system_error`. The error code says
// what kind of failure it was; the thrown exception's what() (and, for the error_code
// overloads, coipc::last_error_message() on the same thread) says which channel and what
// exactly: "channel 'telemetry': payload type mismatch: segment holds ...".
module;
#include <string>
#include <string_view>
#include <system_error>
export module coipc:error;

export namespace coipc {

enum class errc {
  // Naming and opening.
  invalid_name = 1,     ///< a channel name that is empty, too long or has a forbidden character
  not_found,            ///< open_only on a name that does not exist
  already_exists,       ///< create_only on a name that exists
  permission_denied,    ///< the segment exists but this user may not open it
  // Validation of an existing segment.
  corrupt_segment,      ///< truncated, too short for its header, garbage, or inconsistent
  version_mismatch,     ///< made by an incompatible layout version of coipc
  type_mismatch,        ///< holds a different payload type than the caller asked for
  geometry_mismatch,    ///< different capacity, maximum message size or kind
  // Data path.
  message_too_large,    ///< a payload larger than the channel's maximum message size
  timeout,              ///< a timed or blocking call ran out of time
  would_block,          ///< a try_ call found nothing to read or no space to write
  closed,               ///< the handle was closed, or the operation was cancelled by close()
  sender_exists,        ///< a route already has a live sender
  too_many_peers,       ///< every receiver (or sender) slot of the channel is taken
  wrong_role,           ///< send on an endpoint opened only to receive, or the reverse
  invalid_argument,     ///< options out of range (capacity not a power of two, ...)
  system_error,         ///< an operating-system call failed (see the message)
  loan_outstanding,     ///< a send or loan while this endpoint's previous loan is not committed or dropped
};

/// The category of coipc::errc. Its name is "coipc".
const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// The detailed message of the last error reported through an error_code overload on this
/// thread ("channel 'x': ..."), or an empty string. Throwing overloads put the same text
/// in the exception's what().
const std::string& last_error_message() noexcept;

namespace detail {
/// Sets `ec` and this thread's last_error_message(). Always returns false, so that a
/// failing path reads `return fail(ec, errc::timeout, "...");`.
bool fail(std::error_code& ec, std::error_code code, std::string message);
inline bool fail(std::error_code& ec, errc code, std::string message) {
  return fail(ec, make_error_code(code), std::move(message));
}
/// Same for an errno value from a failed system call.
bool fail_errno(std::error_code& ec, int errno_value, std::string message);

/// Throws std::system_error(ec, last_error_message()).
[[noreturn]] void throw_error(const std::error_code& ec);

/// Throws std::system_error(ec, last_error_message()) when ec is set. Inline: every
/// throwing call passes here once it has succeeded, and that costs one test.
inline void throw_if(const std::error_code& ec) {
  if (ec) [[unlikely]] throw_error(ec);
}
}  // namespace detail

}  // namespace coipc

export template <>
struct std::is_error_code_enum<coipc::errc> : std::true_type {};
