// coipc-torture: starting, killing and reaping party processes (party_process.hpp).
#include "party_process.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <spawn.h>

extern char** environ;

namespace torture {

std::string who(const party_process& p, const char* role_name) {
  return strf("#%llu %s pid %d", static_cast<unsigned long long>(p.incarnation), role_name, static_cast<int>(p.pid));
}

pid_t spawn_self(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  // posix_spawn: a vfork-like start, cheap even with the supervisor's mappings.
  const int rc = ::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), environ);
  if (rc != 0) throw std::runtime_error(std::string("posix_spawn: ") + std::strerror(rc));
  return pid;
}

void start_incarnation(party_process& p, std::uint64_t id, party_record& rec, std::vector<std::string> args) {
  rec.role.store(static_cast<std::uint32_t>(p.role), std::memory_order_relaxed);
  const pid_t pid = spawn_self(std::move(args));
  rec.pid.store(pid, std::memory_order_relaxed);
  p.incarnation = id;
  p.pid = pid;
  p.alive = true;
  p.killed_by_us = false;
  p.spawned_ns = monotonic_ns();
}

int kill_and_wait(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

}  // namespace torture
