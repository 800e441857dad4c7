// coipc-torture: the supervisor.
//
// For each variant it creates a report segment, starts the receivers and then the senders
// as separate processes (this binary, exec'd with --party), and then, until the variant's
// share of the kills is spent:
//
//   - waits 20-200 ms (seeded), restarting at once any party that killed itself at its
//     fault point;
//   - checks receiver_count() against the receivers alive (channels only: the supervisor
//     holds a sender endpoint there; a route has no room for one while its sender lives);
//   - SIGKILLs a party chosen at random and starts a new incarnation in its place, which
//     with some probability is armed to kill itself at a fault point (--die-at).
//
// Then the quiet phase (no more kills, fault hooks disarmed): every live party must make
// progress within the bound. Then the end: the senders stop; receiver_count() must be the
// live receivers; the supervisor sends the end-of-run sentinel, the receivers make their
// end checks and exit; receiver_count() must return to 0, and every slot must be free to
// take. Party records are summed into the summary; every failure is reported with the seed
// and the events around it.
#include "supervisor.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "probe.hpp"
#include "report.hpp"
#include "run_plan.hpp"
#include "variant_stage.hpp"

namespace torture {

namespace {

using ull = unsigned long long;

const char* role_name(party_role r) { return r == party_role::sender ? "sender" : "receiver"; }

struct kill_party : party_process {
  bool armed = false;
  bool provoked = false;        ///< killed to make an armed peer run a death check
  bool stall_reported = false;  ///< a progress failure in the kill phase is reported once
};

// Names, seeds, the cast, the timeline and the clean-up: variant_stage.hpp.
class variant_run : variant_stage<kill_party> {
 public:
  variant_run(const run_options& opt, const variant& v, unsigned index, std::uint64_t kills, double seconds,
              std::uint64_t t0, summary& sum)
      : variant_stage("torture.", v, opt.seed, index, t0, opt.verbose), opt_(opt), kills_budget_(kills),
        seconds_budget_(seconds), sum_(sum) {
    result_.label = v.label();
  }

  variant_result run();

 private:
  enum class phase { starting, killing, quiet, stopping, ending };
  using party = kill_party;

  void start();
  void kill_phase();
  void quiet_phase();
  void end_phase();
  void collect();

  bool spawn(party& p, bool may_arm);
  std::optional<std::pair<die_point, std::uint64_t>> choose_arm(party_role role);
  void reap();
  template <class Pred>
  bool reap_until(std::uint64_t deadline_ns, Pred done);
  void on_death(party& p, int status);
  void restart_due();
  void kill_one(party& p);
  void check_receiver_count();
  void check_progress_while_killing();
  void check_drained();
  bool wait_connected(party_role role, unsigned seconds);
  void wait_exit(party_role role, unsigned seconds, const char* why);
  unsigned alive(party_role role) const;

  void check(invariant i, bool ok, const std::string& what_if_failed);
  std::string who(const party& p) const { return torture::who(p, role_name(p.role)); }

  const run_options& opt_;
  std::uint64_t kills_budget_;
  double seconds_budget_;
  summary& sum_;
  std::unique_ptr<channel_probe> probe_;
  bool probe_sender_ = false;
  std::uint64_t pause_end_ns_ = 0;  ///< when the last drained check let the senders go on
  std::uint64_t last_sender_death_ns_ = 0;
  party_role provoke_ = party_role::none;  ///< the role the next random kill picks, if any
  bool claim_death_wanted_ = false;        ///< arm the next sender to die holding a claim
  std::uint64_t kills_ = 0;
  phase phase_ = phase::starting;
  variant_result result_;
};

// ---- bookkeeping ---------------------------------------------------------------------------

void variant_run::check(invariant i, bool ok, const std::string& what_if_failed) {
  const auto k = static_cast<unsigned>(i);
  ++sum_.checks[k];
  if (ok) return;
  ++sum_.failures[k];
  ++result_.failures;
  const std::string text = std::string(name_of(i)) + ": " + what_if_failed;
  std::fprintf(stderr, "torture: supervisor at %.3f s: %s\n", rel_s(monotonic_ns()), text.c_str());
  log_.failure(monotonic_ns(), "supervisor: " + text);
  note("FAILURE " + text);
}

unsigned variant_run::alive(party_role role) const {
  unsigned n = 0;
  for (const party& p : parties_) n += p.alive && p.role == role;
  return n;
}

// ---- parties: start, arm, reap, kill ---------------------------------------------------------

std::optional<std::pair<die_point, std::uint64_t>> variant_run::choose_arm(party_role role) {
  if (role == party_role::sender && claim_death_wanted_ && sum_.fault_points) {
    // A receiver waits to run a death check on a dead sender's claim: die with one.
    claim_death_wanted_ = false;
    return std::pair{rng_() % 2 ? die_point::after_tail_cas : die_point::before_publish, 1 + rng_() % 200};
  }
  if (std::uniform_real_distribution<double>(0, 1)(rng_) >= opt_.arm_probability) return std::nullopt;
  std::vector<die_point> points;
  if (role == party_role::sender) {
    points = {die_point::after_tail_cas, die_point::before_publish, die_point::after_publish,
              die_point::after_death_check, die_point::liveness_check};
    if (v_.api == api_t::blocking) points.push_back(die_point::mid_payload);
  } else {
    points = {die_point::after_death_check, die_point::liveness_check};
  }
  if (v_.api == api_t::coroutine) points.push_back(die_point::before_waiter_add);
  // Without the library's fault points only the sender's own mid_payload can fire.
  if (!sum_.fault_points) std::erase_if(points, [](die_point p) { return p != die_point::mid_payload; });
  if (points.empty()) return std::nullopt;
  const die_point p = points[rng_() % points.size()];
  // A death check runs only where a peer died: make the next random kill one of the armed
  // party's peers (a receiver for a sender, which evicts it; a sender for a receiver,
  // which settles its claim).
  if (p == die_point::after_death_check || p == die_point::liveness_check) {
    provoke_ = role == party_role::sender ? party_role::receiver : party_role::sender;
    // A receiver's death check is about a dead sender's claim: the killed sender's
    // successor dies holding one (its own successor then waits, see on_death).
    if (role == party_role::receiver && p == die_point::after_death_check) claim_death_wanted_ = true;
  }
  // How many times the point is reached before it fires: message points are reached per
  // message, so anywhere in the first few thousand; the others are rarer.
  std::uint64_t n = 1;
  switch (p) {
    case die_point::after_tail_cas:
    case die_point::before_publish:
    case die_point::after_publish:
    case die_point::mid_payload: n = 1 + rng_() % 3000; break;
    case die_point::after_death_check: n = 1 + rng_() % 2; break;
    case die_point::liveness_check: n = 1 + rng_() % 8; break;
    case die_point::before_waiter_add: n = 1 + rng_() % 50; break;
  }
  return std::pair{p, n};
}

bool variant_run::spawn(party& p, bool may_arm) {
  const auto next = next_incarnation();
  if (!next) return false;
  const std::uint64_t id = *next;
  std::vector<std::string> args = command_line(role_name(p.role), p.role, id);
  std::optional<std::string> arm;
  if (auto point = may_arm ? choose_arm(p.role) : std::nullopt) {
    arm = std::string(die_point_names[static_cast<unsigned>(point->first)]) + ":" + std::to_string(point->second);
    args.push_back("--die-at");
    args.push_back(*arm);
    ++sum_.armed[static_cast<unsigned>(point->first)];
  }
  // Blind liveness checks: only the slot locks can tell this party that a peer died.
  if (std::uniform_real_distribution<double>(0, 1)(rng_) < opt_.blind_probability) {
    args.push_back("--blind");
    args.push_back("1");
    ++sum_.blind;
  }
  start_incarnation(p, id, *rep_.record(id), std::move(args));
  p.armed = arm.has_value();
  p.provoked = false;
  if (p.role == party_role::sender) {
    ++result_.sender_incarnations;
  } else {
    ++result_.receiver_incarnations;
  }
  note("start " + who(p) + (arm ? " --die-at " + *arm : std::string()));
  return true;
}

void variant_run::on_death(party& p, int status) {
  p.alive = false;
  if (p.role == party_role::sender) last_sender_death_ns_ = monotonic_ns();
  party_record* rec = rep_.record(p.incarnation);
  rec->end_ns.store(monotonic_ns(), std::memory_order_relaxed);
  const std::uint32_t fired = rec->fired_point.load(std::memory_order_acquire);
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && fired != 0) {
    // It killed itself at its point (even if our SIGKILL was on its way).
    const bool uncounted = fired == 1 + static_cast<unsigned>(die_point::after_publish);
    rec->ended.store(static_cast<std::uint32_t>(uncounted ? end_kind::killed_published : end_kind::killed_point),
                     std::memory_order_relaxed);
    ++kills_;
    ++sum_.kills_by_kind[2 + fired - 1];
    note("died at its point " + who(p) + " " + die_point_names[fired - 1]);
    check(invariant::no_errors, true, "");
  } else if (p.killed_by_us && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
    rec->ended.store(static_cast<std::uint32_t>(end_kind::killed_random), std::memory_order_relaxed);
    ++kills_;
    ++sum_.kills_by_kind[p.role == party_role::sender ? 0 : 1];
    check(invariant::no_errors, true, "");
  } else if (WIFEXITED(status)) {
    rec->ended.store(static_cast<std::uint32_t>(end_kind::exited), std::memory_order_relaxed);
    rec->exit_status.store(WEXITSTATUS(status), std::memory_order_relaxed);
    const bool expected = WEXITSTATUS(status) == 0 && ((p.role == party_role::sender && phase_ >= phase::stopping) ||
                                                       (p.role == party_role::receiver && phase_ == phase::ending));
    note(strf("exit %s status %d", who(p).c_str(), WEXITSTATUS(status)));
    check(invariant::no_errors, expected, strf("%s exited with status %d before the end", who(p).c_str(), WEXITSTATUS(status)));
  } else {
    rec->ended.store(static_cast<std::uint32_t>(end_kind::died_other), std::memory_order_relaxed);
    const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    note(strf("died %s signal %d", who(p).c_str(), sig));
    check(invariant::no_errors, false, strf("%s died of signal %d (%s) that nobody sent", who(p).c_str(), sig, strsignal(sig)));
  }
  // Keep the cast complete while the run goes on. A successor takes over its predecessor's
  // slot and settles what it left; a restart that waits longer than the stall timeout
  // leaves that to the survivors instead (they settle the dead sender's claim, evict the
  // dead receiver), through their death checks. So: a sender that died at a claim point,
  // or a victim killed to provoke an armed peer's death check, restarts after 2-3 stall
  // timeouts; any other restart at once or after up to 3 stall timeouts, even odds.
  if (phase_ == phase::killing) {
    const bool claim_left = fired == 1 + static_cast<unsigned>(die_point::after_tail_cas) ||
                            fired == 1 + static_cast<unsigned>(die_point::before_publish) ||
                            fired == 1 + static_cast<unsigned>(die_point::mid_payload);
    std::uint64_t delay_ms = rng_() % 2 ? 0 : rng_() % (3 * stall_timeout_ms);
    if (claim_left || p.provoked) delay_ms = 2 * stall_timeout_ms + rng_() % stall_timeout_ms;
    p.restart_at_ns = monotonic_ns() + delay_ms * 1000000ull;
    if (delay_ms) note(strf("restart of %s in %llu ms", role_name(p.role), static_cast<ull>(delay_ms)));
    restart_due();
  } else if (phase_ == phase::quiet) {
    p.restart_at_ns = monotonic_ns();
    restart_due();
  }
}

void variant_run::restart_due() {
  const std::uint64_t now = monotonic_ns();
  for (party& p : parties_) {
    if (p.alive || p.restart_at_ns == 0 || (p.restart_at_ns > now && phase_ == phase::killing)) continue;
    p.restart_at_ns = 0;
    // A restart after the kill budget is spent is never armed.
    spawn(p, phase_ == phase::killing && (kills_budget_ == 0 || kills_ < kills_budget_));
  }
}

void variant_run::reap() {
  reap_ended(parties_, [&](party& p, int status) { on_death(p, status); });
}

template <class Pred>
bool variant_run::reap_until(std::uint64_t deadline_ns, Pred done) {
  for (;;) {
    reap();
    restart_due();
    if (done()) return true;
    if (monotonic_ns() >= deadline_ns) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void variant_run::kill_one(party& p) {
  note("kill " + who(p));
  p.killed_by_us = true;
  on_death(p, kill_and_wait(p.pid));
}

// receiver_count() while parties come and go: at least the receivers that had connected
// before the count and were still alive after it, at most those alive before it.
void variant_run::check_receiver_count() {
  if (!probe_sender_) return;
  reap();
  std::vector<std::uint64_t> connected;
  const unsigned at_most = alive(party_role::receiver);
  for (const party& p : parties_) {
    if (p.alive && p.role == party_role::receiver &&
        rep_.record(p.incarnation)->state.load(std::memory_order_acquire) >= static_cast<std::uint32_t>(party_state::connected)) {
      connected.push_back(p.incarnation);
    }
  }
  // Half the counts are blind, as a process under hidepid counts: the slot locks must tell.
  const bool blind = rng_() % 2 == 0;
  const std::uint32_t n = probe_->receiver_count(blind);
  auto still_connected = [&] {
    reap();
    unsigned k = 0;
    for (const party& p : parties_) {
      k += p.alive && std::find(connected.begin(), connected.end(), p.incarnation) != connected.end();
    }
    return k;
  };
  unsigned at_least = still_connected();
  // A party that kills itself at its point is dead to the library (its slot lock went with
  // its files) a moment before waitpid reports it (the exit is not finished yet): look
  // again after that moment before calling the count short.
  for (int i = 0; i < 10 && n < at_least; ++i) {
    ::usleep(10000);
    at_least = still_connected();
  }
  check(invariant::receiver_count, at_least <= n && n <= at_most,
        strf("receiver_count() = %u with %u..%u receivers alive and connected%s", n, at_least, at_most,
             blind ? " (blind liveness checks)" : ""));
}

bool variant_run::wait_connected(party_role role, unsigned seconds) {
  return reap_until(monotonic_ns() + seconds * 1000000000ull, [&] {
    for (const party& p : parties_) {
      if (p.alive && p.role == role &&
          rep_.record(p.incarnation)->state.load(std::memory_order_acquire) < static_cast<std::uint32_t>(party_state::connected)) {
        return false;
      }
    }
    return true;
  });
}

void variant_run::wait_exit(party_role role, unsigned seconds, const char* why) {
  if (reap_until(monotonic_ns() + seconds * 1000000000ull, [&] { return alive(role) == 0; })) return;
  for (party& p : parties_) {
    if (p.alive && p.role == role) {
      check(invariant::progress, false, strf("%s did not %s within %u s", who(p).c_str(), why, seconds));
      kill_one(p);
    }
  }
}

// Progress while the kills go on: every recovery (a dead receiver evicted, a dead sender's
// claim settled, a restart) takes a few stall timeouts, so a connected party that makes no
// progress for the whole bound is stuck, not waiting. Checked at each kill, before the
// victim is chosen: a stuck party would otherwise be healed by its own death (a successor
// connects at the tail), and every party lives about half a second.
void variant_run::check_progress_while_killing() {
  const std::uint64_t now = monotonic_ns();
  const std::uint64_t bound_ns = opt_.progress_bound_ms * 1000000ull;
  for (party& p : parties_) {
    if (!p.alive) continue;
    const party_record* rec = rep_.record(p.incarnation);
    if (rec->state.load(std::memory_order_acquire) < static_cast<std::uint32_t>(party_state::connected)) continue;
    const std::uint64_t since = std::max({rec->last_progress_ns.load(std::memory_order_relaxed),
                                          rec->connected_ns.load(std::memory_order_relaxed), pause_end_ns_});
    const std::uint64_t gap = now > since ? now - since : 0;
    result_.longest_kill_gap_ns = std::max(result_.longest_kill_gap_ns, gap);
    if (p.stall_reported) continue;
    check(invariant::progress, gap <= bound_ns,
          strf("%s made no progress for %.1f ms during the kill phase (bound %u ms)", who(p).c_str(),
               static_cast<double>(gap) / 1e6, opt_.progress_bound_ms));
    p.stall_reported = gap > bound_ns;
  }
}

// Lost wake-ups: a receiver parked while a message is there sleeps until the next wake, so
// under steady traffic a lost wake costs only latency, and no other check sees it. Here the
// senders pause between messages; once every live sender says it has paused, nothing is
// in flight, and after a settling time (dead claims before a message are settled within a
// stall timeout or two) every live receiver must have taken every message: none published
// between its position and the tail. Only dead senders' claims may be left there, with
// nothing after them: no message, so nothing wakes a parked reader for them (a test of the
// long run found that once), and none need.
void variant_run::check_drained() {
  report_header& h = rep_.header();
  h.pause_senders.store(1, std::memory_order_release);
  auto all_paused = [&] {
    for (const party& p : parties_) {
      if (!p.alive || p.role != party_role::sender) continue;
      const party_record* rec = rep_.record(p.incarnation);
      if (rec->state.load(std::memory_order_acquire) < static_cast<std::uint32_t>(party_state::connected)) continue;
      if (rec->paused.load(std::memory_order_acquire) == 0) return false;
    }
    return true;
  };
  // A sender may be waiting for space (a dead receiver not yet evicted): give it time, and
  // give up this check (not a failure) when it does not pause.
  const std::uint64_t give_up = monotonic_ns() + 20ull * stall_timeout_ms * 1000000ull;
  bool paused = false;
  while (!(paused = all_paused()) && monotonic_ns() < give_up) {
    reap();
    ::usleep(1000);
  }
  if (paused) {
    // Each live, connected receiver's reader as the shared memory says now.
    auto for_each_reader = [&](const channel_probe::readers& r, auto&& check_one) {
      for (const party& p : parties_) {
        if (!p.alive || p.role != party_role::receiver) continue;
        const party_record* rec = rep_.record(p.incarnation);
        if (rec->state.load(std::memory_order_acquire) < static_cast<std::uint32_t>(party_state::connected)) continue;
        for (const auto& reader : r.receivers) {
          if (reader.pid == static_cast<std::uint32_t>(p.pid)) check_one(p, reader);
        }
      }
    };
    // First, half a stall timeout in: the last words were announced, so a receiver with a
    // message at its very position has lost a wake-up. (Later, it would have found the
    // message anyway: a parked receiver looks again every stall timeout.) Unless a sender
    // died less than a stall timeout ago: its last message may be announced by nobody.
    ::usleep(stall_timeout_ms / 2 * 1000);
    reap();
    std::string error;
    if (monotonic_ns() - last_sender_death_ns_ > stall_timeout_ms * 1000000ull) {
      if (const auto r = probe_->read_positions(error)) {
        for_each_reader(*r, [&](const party& p, const channel_probe::readers::reader& reader) {
          check(invariant::drained, !reader.message_at_position,
                strf("%s has a message at its position %llu %u ms after the senders paused: a lost wake-up",
                     who(p).c_str(), static_cast<ull>(reader.position), stall_timeout_ms / 2));
        });
      }
    }
    // Then, after dead claims before a message have been settled: nothing published is left.
    ::usleep((4 * stall_timeout_ms - stall_timeout_ms / 2) * 1000);
    reap();
    const auto r = probe_->read_positions(error);
    check(invariant::drained, r.has_value(), "cannot read the receivers' positions: " + error);
    if (r) {
      for_each_reader(*r, [&](const party& p, const channel_probe::readers::reader& reader) {
        check(invariant::drained, !reader.message_waiting,
              strf("%s is at position %llu with a message before the tail at %llu, %u ms after every "
                   "sender paused; frames:%s",
                   who(p).c_str(), static_cast<ull>(reader.position), static_cast<ull>(r->tail_end),
                   4 * stall_timeout_ms, reader.frames.c_str()));
      });
    }
  } else {
    note("drained check skipped: a sender did not pause");
  }
  h.pause_senders.store(0, std::memory_order_release);
  pause_end_ns_ = monotonic_ns();
}

// ---- the phases ----------------------------------------------------------------------------

void variant_run::start() {
  remove_channel(channel_);
  // Every kill makes one incarnation; armed ones can die fast, so leave room.
  const std::uint64_t budget = kills_budget_ ? kills_budget_ : 20000;
  rep_ = report::create(report_name_, static_cast<std::uint32_t>(budget + v_.senders + v_.receivers + 64));
  probe_ = make_probe(v_, channel_);
  note("variant " + v_.label() + strf(" seed %llu", static_cast<ull>(seed_)));
  // Receivers first, so that they see every sender's first message (checked under block).
  for (unsigned i = 0; i < v_.receivers; ++i) {
    parties_.push_back({{party_role::receiver}});
    spawn(parties_.back(), false);
  }
  check(invariant::no_errors, wait_connected(party_role::receiver, 10), "receivers did not connect within 10 s");
  if (v_.kind == kind_t::channel) {
    std::string error;
    probe_sender_ = probe_->open_sender(error);
    check(invariant::no_errors, probe_sender_, "supervisor's sender endpoint: " + error);
  }
  for (unsigned i = 0; i < v_.senders; ++i) {
    parties_.push_back({{party_role::sender}});
    spawn(parties_.back(), false);
  }
  check(invariant::no_errors, wait_connected(party_role::sender, 10), "senders did not connect within 10 s");
}

void variant_run::kill_phase() {
  phase_ = phase::killing;
  const std::uint64_t end_ns =
      seconds_budget_ > 0 ? monotonic_ns() + static_cast<std::uint64_t>(seconds_budget_ * 1e9) : UINT64_MAX;
  auto spent = [&] {
    return (kills_budget_ != 0 && kills_ >= kills_budget_) || monotonic_ns() >= end_ns ||
           next_incarnation_ >= rep_.records();
  };
  while (!spent()) {
    const auto wait_ms = 20 + rng_() % 181;
    reap_until(monotonic_ns() + wait_ms * 1000000ull, spent);
    if (spent()) break;
    check_receiver_count();
    check_progress_while_killing();
    if (rng_() % 6 == 0) check_drained();
    // The victim: a party not armed (an armed one dies at its chosen point), or any party
    // when all are armed.
    std::vector<party*> candidates, armed;
    for (party& p : parties_) {
      if (p.alive && (provoke_ == party_role::none || p.role == provoke_)) (p.armed ? armed : candidates).push_back(&p);
    }
    if (candidates.empty()) candidates = armed;
    if (!candidates.empty()) {
      party& victim = *candidates[rng_() % candidates.size()];
      victim.provoked = provoke_ != party_role::none;
      kill_one(victim);
    }
    provoke_ = party_role::none;
  }
  result_.kills = kills_;
}

void variant_run::quiet_phase() {
  phase_ = phase::quiet;
  report_header& h = rep_.header();
  h.disarmed.store(1, std::memory_order_relaxed);
  const std::uint64_t quiet_start = monotonic_ns();
  h.quiet_since_ns.store(quiet_start, std::memory_order_relaxed);
  note("last kill done: quiet phase");
  restart_due();  // pending restarts, now
  const unsigned bound_ms = opt_.progress_bound_ms;
  const unsigned quiet_ms = opt_.quiet_ms ? opt_.quiet_ms : bound_ms + 200;
  reap_until(quiet_start + quiet_ms * 1000000ull, [] { return false; });
  const std::uint64_t now = monotonic_ns();
  for (const party& p : parties_) {
    if (!p.alive) continue;
    const party_record* rec = rep_.record(p.incarnation);
    const std::uint64_t connected = rec->connected_ns.load(std::memory_order_relaxed);
    const std::uint64_t since = std::max({rec->last_progress_ns.load(std::memory_order_relaxed), quiet_start,
                                          connected ? connected : p.spawned_ns});
    const std::uint64_t gap = std::max(rec->max_quiet_gap_ns.load(std::memory_order_relaxed), now > since ? now - since : 0);
    result_.longest_gap_ns = std::max(result_.longest_gap_ns, gap);
    check(invariant::progress, gap <= bound_ms * 1000000ull,
          strf("%s made no progress for %.1f ms after the last kill (bound %u ms)", who(p).c_str(),
               static_cast<double>(gap) / 1e6, bound_ms));
  }
}

void variant_run::end_phase() {
  phase_ = phase::stopping;
  report_header& h = rep_.header();
  h.stop_senders.store(1, std::memory_order_relaxed);
  note("stop the senders");
  wait_exit(party_role::sender, 10, "stop");
  // Every sender record is final now: the receivers' end checks may read them.
  h.senders_done.store(1, std::memory_order_release);
  check(invariant::no_errors, wait_connected(party_role::receiver, 5), "receivers did not connect within 5 s");
  std::string error;
  if (v_.kind == kind_t::route) {
    // The route's one sender slot: its last owner exited, so it must be free to take.
    probe_sender_ = probe_->open_sender(error);
    check(invariant::no_leaked_slots, probe_sender_, "after the sender exited, " + error);
  }
  if (probe_sender_) {
    const std::uint32_t n = probe_->receiver_count(false);
    const unsigned live = alive(party_role::receiver);
    check(invariant::receiver_count, n == live, strf("receiver_count() = %u with %u receivers alive", n, live));
  }
  phase_ = phase::ending;
  const bool sent = probe_sender_ && probe_->send_sentinel(error);
  check(invariant::progress, sent, "end-of-run sentinel: " + error);
  note("sentinel sent");
  wait_exit(party_role::receiver, 10, "reach the sentinel");
  if (probe_sender_) {
    const std::uint32_t n = probe_->receiver_count(false);
    check(invariant::receiver_count, n == 0, strf("receiver_count() = %u after every receiver exited", n));
  }
  probe_->close_sender();
  probe_sender_ = false;
  const bool free = probe_->take_every_slot(error);
  check(invariant::no_leaked_slots, free, error);
}

// Sums every incarnation's record into the summary, and turns each failing one into a
// report with the events around its first failure.
void variant_run::collect() {
  for (std::uint64_t id = 1; id <= next_incarnation_; ++id) {
    const party_record* rec = rep_.record(id);
    const auto role = static_cast<party_role>(rec->role.load(std::memory_order_relaxed));
    std::uint64_t failed = 0;
    for (unsigned k = 0; k < invariant_count; ++k) {
      sum_.checks[k] += rec->checks[k].load(std::memory_order_relaxed);
      const std::uint64_t f = rec->failures[k].load(std::memory_order_relaxed);
      sum_.failures[k] += f;
      failed += f;
    }
    result_.failures += failed;
    if (role == party_role::sender) result_.sent += rec->sent.load(std::memory_order_relaxed);
    if (role == party_role::receiver) {
      result_.received += rec->received.load(std::memory_order_relaxed);
      result_.lost += rec->lost.load(std::memory_order_relaxed);
    }
    if (failed && rec->failure_text_ready.load(std::memory_order_acquire)) {
      log_.failure(rec->first_failure_ns.load(std::memory_order_relaxed),
                   strf("#%llu %s pid %d: %s (%llu failures in this incarnation)", static_cast<ull>(id),
                        role_name(role), rec->pid.load(std::memory_order_relaxed), rec->failure_text,
                        static_cast<ull>(failed)));
    }
  }
  log_.report_failures(v_.label(), opt_.seed, seed_, sum_.failure_reports);
}

variant_result variant_run::run() {
  const std::uint64_t began = monotonic_ns();
  start();
  kill_phase();
  quiet_phase();
  end_phase();
  collect();
  result_.seconds = static_cast<double>(monotonic_ns() - began) / 1e9;
  return result_;
}

}  // namespace

int run_supervisor(const run_options& opt) {
  summary sum;
  sum.seed = opt.seed;
  sum.progress_bound_ms = opt.progress_bound_ms;
  sum.fault_points = fault_points_compiled_in();
  const std::uint64_t t0 = monotonic_ns();
  const std::vector<variant> variants = variants_of(opt.all, opt.single, opt.channel_senders);
  std::printf("coipc-torture: seed %llu, %zu variant%s, %llu kills%s (rerun with --seed %llu)\n",
              static_cast<ull>(opt.seed), variants.size(), variants.size() == 1 ? "" : "s",
              static_cast<ull>(opt.kills), opt.duration_s > 0 ? strf(", at most %.0f s of kills", opt.duration_s).c_str() : "",
              static_cast<ull>(opt.seed));
  if (!sum.fault_points) {
    std::printf("coipc-torture: the library has no fault points (COIPC_FAULT_INJECTION off): only mid_payload "
                "and random kills\n");
  }
  std::fflush(stdout);
  const auto n = static_cast<std::uint64_t>(variants.size());
  for (std::uint64_t i = 0; i < n; ++i) {
    // The kills and the time spread evenly, the remainder to the first variants.
    const std::uint64_t kills = share_of(opt.kills, n, i);
    if (opt.kills != 0 && kills == 0) continue;
    const double seconds = opt.duration_s > 0 ? opt.duration_s / static_cast<double>(n) : 0;
    variant_result r;
    {
      variant_run run(opt, variants[i], static_cast<unsigned>(i), kills, seconds, t0, sum);
      r = run.run();
    }
    sum.sender_incarnations += r.sender_incarnations;
    sum.receiver_incarnations += r.receiver_incarnations;
    sum.sent += r.sent;
    sum.received += r.received;
    sum.lost += r.lost;
    sum.longest_gap_ns = std::max(sum.longest_gap_ns, r.longest_gap_ns);
    sum.longest_kill_gap_ns = std::max(sum.longest_kill_gap_ns, r.longest_kill_gap_ns);
    std::printf("[%2llu/%llu] %-32s kills %4llu  incarnations %3llu+%-3llu  sent %9llu  received %9llu  lost %8llu  "
                "gap %6.1f ms  %5.2f s  %s\n",
                static_cast<ull>(i + 1), static_cast<ull>(n), r.label.c_str(), static_cast<ull>(r.kills),
                static_cast<ull>(r.sender_incarnations), static_cast<ull>(r.receiver_incarnations),
                static_cast<ull>(r.sent), static_cast<ull>(r.received), static_cast<ull>(r.lost),
                static_cast<double>(r.longest_gap_ns) / 1e6, r.seconds, r.failures ? "FAILED" : "ok");
    std::fflush(stdout);
    sum.variants.push_back(std::move(r));
  }
  sum.seconds = static_cast<double>(monotonic_ns() - t0) / 1e9;
  return finish_run(sum, opt.json_path);
}

}  // namespace torture
