// Linux implementation of coipc:platform's slot locks: OFD byte-range locks (fcntl
// F_OFD_SETLK / F_OFD_GETLK, Linux 3.15+), one byte per slot past slot_lock_base.
module;
#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <system_error>
module coipc;

namespace coipc::platform {

namespace {
// One byte at slot_lock_base + index. l_pid must be 0 for the OFD commands (the kernel
// refuses anything else with EINVAL).
struct flock byte_of(std::uint32_t index, short type) noexcept {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(slot_lock_base + index);
  fl.l_len = 1;
  fl.l_pid = 0;
  return fl;
}

// fcntl, retried when a signal interrupts it (the non-waiting commands rarely are).
int lock_command(int fd, int command, struct flock& fl) noexcept {
  int r = 0;
  do {
    r = ::fcntl(fd, command, &fl);
  } while (r != 0 && errno == EINTR);
  return r;
}
}  // namespace

bool take_slot_lock(int fd, std::uint32_t index, std::error_code& ec) noexcept {
  struct flock fl = byte_of(index, F_WRLCK);
  if (lock_command(fd, F_OFD_SETLK, fl) != 0) {
    ec = std::error_code(errno, std::system_category());
    return false;
  }
  ec.clear();
  return true;
}

bool slot_lock_taken_elsewhere(const std::error_code& ec) noexcept {
  // POSIX allows either errno for a conflicting lock; Linux uses EAGAIN.
  return ec == std::errc::resource_unavailable_try_again || ec == std::errc::permission_denied;
}

void release_slot_lock(int fd, std::uint32_t index) noexcept {
  struct flock fl = byte_of(index, F_UNLCK);
  // Unlocking a byte we hold cannot fail for want of resources; a bad fd has nothing to
  // release (and its locks went with its last close).
  (void)lock_command(fd, F_OFD_SETLK, fl);
}

slot_lock_state query_slot_lock(int fd, std::uint32_t index) noexcept {
  // GETLK asks "would a write lock conflict?": it reports some conflicting lock (l_type
  // set), or rewrites l_type to F_UNLCK when none would. Our own description's locks never
  // conflict, so they read as free.
  struct flock fl = byte_of(index, F_WRLCK);
  if (lock_command(fd, F_OFD_GETLK, fl) != 0) return slot_lock_state::unknown;
  return fl.l_type == F_UNLCK ? slot_lock_state::free : slot_lock_state::held;
}

}  // namespace coipc::platform
