// Linux implementation of coipc:platform's named shared memory.
//
// POSIX shared-memory objects live in the tmpfs at /dev/shm (that is what glibc's shm_open
// does). Creation is race-free and crash-safe by construction: the memory is created
// without a name (O_TMPFILE), fully initialized by the caller, and only then given its
// name with linkat(2), which fails atomically when the name is taken. So a name, once
// visible, always refers to a fully initialized segment, and a creator that crashes half
// way leaves nothing behind.
module;
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <vector>
module coipc;

namespace coipc::platform {

namespace {
constexpr const char* shm_dir = "/dev/shm";

std::string path_of(std::string_view object_name) {
  std::string path = shm_dir;
  path += '/';
  path += object_name;
  return path;
}

bool set_errno(std::error_code& ec, int err) {
  ec = std::error_code(err, std::system_category());
  return false;
}
}  // namespace

int shm_create_unnamed(std::size_t size, unsigned mode, std::error_code& ec) noexcept {
  int fd = ::open(shm_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return set_errno(ec, errno), -1;
  // fchmod, not the open mode: the umask must not narrow the permissions asked for.
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0 ||
      ::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int err = errno;
    ::close(fd);
    return set_errno(ec, err), -1;
  }
  // Reserve every page now. ftruncate makes a sparse file: on a tmpfs that is nearly full
  // (Docker's default /dev/shm is 64 MiB) the first write to a page that does not fit would
  // raise SIGBUS in the middle of a stream. posix_fallocate fails here instead, with ENOSPC.
  if (int err = ::posix_fallocate(fd, 0, static_cast<off_t>(size)); err != 0) {
    ::close(fd);
    return set_errno(ec, err), -1;
  }
  return fd;
}

bool shm_publish(int fd, std::string_view object_name, std::error_code& ec) noexcept {
  // linkat with AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc/self/fd link with
  // AT_SYMLINK_FOLLOW does the same for any user.
  char fd_path[64];
  std::snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", fd);
  std::string target = path_of(object_name);
  if (::linkat(AT_FDCWD, fd_path, AT_FDCWD, target.c_str(), AT_SYMLINK_FOLLOW) != 0) {
    return set_errno(ec, errno);
  }
  return true;
}

int shm_open_existing(std::string_view object_name, std::error_code& ec) noexcept {
  std::string path = path_of(object_name);
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return set_errno(ec, errno), -1;
  return fd;
}

bool shm_remove(std::string_view object_name, std::error_code& ec) noexcept {
  std::string path = path_of(object_name);
  if (::unlink(path.c_str()) != 0) return set_errno(ec, errno);
  return true;
}

std::vector<std::string> shm_list(std::string_view prefix) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(shm_dir);
  if (!dir) return names;
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name.starts_with(prefix)) names.emplace_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace coipc::platform
