// coipc-torture: the supervisors' side of a party process: start it (this binary again,
// with a party command line), SIGKILL it, reap it. The kill torture (supervisor.cpp) and
// the hostile writer (hostile.cpp) run their casts the same way; what a death means to
// each (a kill to count, a crash, a restart to schedule) stays with them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <csignal>
#include <sys/types.h>
#include <sys/wait.h>

#include "report.hpp"

namespace torture {

/// One member of a supervisor's cast: a role, played by one incarnation (process) at a time.
struct party_process {
  party_role role = party_role::none;
  std::uint64_t incarnation = 0;
  pid_t pid = -1;
  bool alive = false;
  bool killed_by_us = false;
  std::uint64_t spawned_ns = 0;
  std::uint64_t restart_at_ns = 0;  ///< dead, to be restarted then (0: not pending)
};

/// "#ID ROLE pid PID", how events and failures name a party.
std::string who(const party_process& p, const char* role_name);

/// Starts this binary with `args` (argv[0] included); throws when it cannot.
pid_t spawn_self(std::vector<std::string> args);

/// Starts incarnation `id` of `p` with `args` (argv[0] included), its role and pid written
/// into its report record `rec` (what the supervisor reads back when it has died): `p` is
/// then alive, started now, not killed by us.
void start_incarnation(party_process& p, std::uint64_t id, party_record& rec, std::vector<std::string> args);

/// SIGKILLs `pid` and waits for it; its wait status.
int kill_and_wait(pid_t pid);

/// Every child that has ended, without waiting: on_death(party, status) for the live party
/// it was (children that are no party's, e.g. an old incarnation already handled, are
/// dropped).
template <class Party, class OnDeath>
void reap_ended(std::vector<Party>& parties, OnDeath on_death) {
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (Party& p : parties) {
      if (p.alive && p.pid == pid) {
        on_death(p, status);
        break;
      }
    }
  }
}

/// However a variant's run ended: no orphans (kills and reaps every live party).
template <class Party>
void kill_all(std::vector<Party>& parties) {
  for (Party& p : parties) {
    if (p.alive) {
      ::kill(p.pid, SIGKILL);
      int st = 0;
      ::waitpid(p.pid, &st, 0);
    }
  }
}

}  // namespace torture
