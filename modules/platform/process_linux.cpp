// Linux implementation of coipc:platform's process identity: pid + start time from /proc.
module;
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
module coipc;

namespace coipc::platform {

namespace {
struct stat_fields {
  char state = '?';
  std::uint64_t start_time = 0;
  bool ok = false;
};

// /proc/<pid>/stat: "pid (comm) state ppid ... starttime(22) ...". comm may contain spaces
// and parentheses, so fields are counted from the last ')'.
stat_fields read_stat(std::uint32_t pid) noexcept {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%u/stat", pid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return {};
  buf[n] = '\0';
  char* p = std::strrchr(buf, ')');
  if (!p) return {};
  stat_fields out;
  int field = 2;  // p points at the end of field 2 (comm)
  for (char* tok = p + 1; *tok;) {
    while (*tok == ' ') ++tok;
    if (!*tok) break;
    ++field;
    if (field == 3) out.state = *tok;
    if (field == 22) {
      out.start_time = std::strtoull(tok, nullptr, 10);
      out.ok = true;
      break;
    }
    while (*tok && *tok != ' ') ++tok;
  }
  return out;
}
}  // namespace

process_id this_process() noexcept {
  auto pid = static_cast<std::uint32_t>(::getpid());
  return {pid, read_stat(pid).start_time};
}

bool is_alive(const process_id& process) noexcept {
  if (process.pid == 0) return false;
  if (::kill(static_cast<pid_t>(process.pid), 0) != 0 && errno == ESRCH) return false;
  stat_fields st = read_stat(process.pid);
  if (!st.ok) return false;  // gone between the two checks
  // 'Z' (zombie) and 'X' (dead): exited, only waiting to be reaped.
  if (st.state == 'Z' || st.state == 'X') return false;
  return st.start_time == process.start_time;
}

}  // namespace coipc::platform
