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

// A start time of 0 means "could not be read": callers refuse to join a channel with an
// identity they cannot prove (peers would see a different start time and evict them).
process_id this_process() noexcept {
  auto pid = static_cast<std::uint32_t>(::getpid());
  stat_fields st = read_stat(pid);
  return {pid, st.ok ? st.start_time : 0};
}

// Dead only on positive evidence: ESRCH, a zombie, or another start time under that pid.
// Everything else, a /proc that cannot be read included (out of file descriptors,
// hidepid, another user's process), answers "alive": evicting a live receiver corrupts its
// stream, while a wrongly living peer only costs waiting.
bool is_alive(const process_id& process) noexcept {
  detail::fault::at(detail::fault::point::liveness_check);
  if (process.pid == 0) return false;
  // Tests can blind this process as hidepid or another user's process would: kill() then
  // proves nothing (EPERM) and /proc/<pid>/stat cannot be read.
  const bool blind = detail::fault::liveness_unknown();
  auto gone = [&] { return !blind && ::kill(static_cast<pid_t>(process.pid), 0) != 0 && errno == ESRCH; };
  if (gone()) return false;
  stat_fields st = blind ? stat_fields{} : read_stat(process.pid);
  if (!st.ok) {
    // Gone between the two checks (ESRCH now), or unreadable: unknown means alive.
    return !gone();
  }
  // 'Z' (zombie) and 'X' (dead): exited, only waiting to be reaped.
  if (st.state == 'Z' || st.state == 'X') return false;
  return st.start_time == process.start_time;
}

}  // namespace coipc::platform
