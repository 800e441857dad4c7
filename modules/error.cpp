module;
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
module coipc;

namespace coipc {

namespace {
class coipc_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "coipc"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_name: return "invalid channel name";
      case errc::not_found: return "no such channel";
      case errc::already_exists: return "channel already exists";
      case errc::permission_denied: return "permission denied";
      case errc::corrupt_segment: return "corrupt shared-memory segment";
      case errc::version_mismatch: return "segment made by an incompatible coipc layout version";
      case errc::type_mismatch: return "payload type mismatch";
      case errc::geometry_mismatch: return "channel geometry mismatch";
      case errc::message_too_large: return "message larger than the channel's maximum";
      case errc::timeout: return "timed out";
      case errc::would_block: return "operation would block";
      case errc::closed: return "channel closed";
      case errc::sender_exists: return "route already has a live sender";
      case errc::too_many_peers: return "no free sender or receiver slot";
      case errc::wrong_role: return "endpoint not opened for this direction";
      case errc::invalid_argument: return "invalid channel options";
      case errc::system_error: return "system call failed";
      case errc::loan_outstanding: return "a loan of this endpoint is still outstanding";
    }
    return "unknown coipc error " + std::to_string(value);
  }
};

thread_local std::string last_message;
}  // namespace

const std::error_category& error_category() noexcept {
  static const coipc_category category;
  return category;
}

const std::string& last_error_message() noexcept { return last_message; }

namespace detail {
bool fail(std::error_code& ec, std::error_code code, std::string message) {
  ec = code;
  last_message = std::move(message);
  return false;
}

bool fail_errno(std::error_code& ec, int errno_value, std::string message) {
  message += ": ";
  message += std::strerror(errno_value);
  return fail(ec, std::error_code(errno_value, std::system_category()), std::move(message));
}

void throw_error(const std::error_code& ec) {
  throw std::system_error(ec, last_message.empty() ? ec.message() : last_message);
}
}  // namespace detail

}  // namespace coipc
