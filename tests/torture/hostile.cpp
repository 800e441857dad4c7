// coipc-torture --hostile: the supervisor (see hostile.hpp for what is promised and checked).
//
// Per variant: creates the channel, starts the senders (1 on a route, --senders on a
// channel), the receivers (--receivers) and one scribbler, lets them run for the variant's
// share of --duration-s while SIGKILLing a random party now and then (--kills) and starting
// a new incarnation in its place, then sets the stop flag and waits for every party to
// leave and exit 0. Meanwhile it reaps every death and watches that each live party's calls
// keep returning. At the end it reads every incarnation's record: the longest overrun past
// a call's own timeout, frames that were not bounded, and prints the summary.
#include "hostile.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "probe.hpp"
#include "report.hpp"
#include "run_plan.hpp"
#include "summary_format.hpp"
#include "variant_stage.hpp"

import coipc;

#include "channel_setup.hpp"

namespace torture {

namespace {

using ull = unsigned long long;

/// What the supervisor checks, each counted (checks, failures) like the kill torture's
/// invariants.
enum class hcheck : unsigned {
  no_crash,        ///< no party died of a signal nobody sent (SIGSEGV, SIGBUS, SIGABRT, ...)
  clean_exit,      ///< no party exited with an error status (sanitizer reports included)
  call_overrun,    ///< every call returned within its own timeout + the slack
  bounded_frames,  ///< every frame received was within the channel's bound
  progress,        ///< every live party's calls kept returning (no gap past the bound)
  stops,           ///< every party left and exited when told to
  scribbled,       ///< the scribbler did write (else nothing was tested)
};
constexpr unsigned hcheck_count = 7;
constexpr const char* hcheck_names[hcheck_count] = {"no_crash", "clean_exit", "call_overrun", "bounded_frames",
                                                    "progress", "stops",      "scribbled"};
constexpr const char* hcheck_descriptions[hcheck_count] = {
    "no party died of a signal nobody sent (SIGSEGV, SIGBUS, SIGABRT, ...)",
    "no party exited with an error status (a sanitizer report exits 1)",
    "every call returned within its own timeout + the slack",
    "every frame received was bounded (<= max_message_size, or sizeof(T))",
    "every live party's calls kept returning, no gap past the bound",
    "every party left and exited 0 when told to",
    "the scribbler wrote into the live segment",
};

const char* role_name(party_role r) {
  switch (r) {
    case party_role::sender: return "hostile-sender";
    case party_role::receiver: return "hostile-receiver";
    case party_role::scribbler: return "scribbler";
    default: return "?";
  }
}

/// Counts summed from the parties' records (per variant, and over the whole run).
struct tally {
  std::uint64_t calls = 0, sent = 0, received = 0, whole = 0, unbounded = 0, opens = 0;
  std::uint64_t errors[hostile_error_kinds] = {};
  std::uint64_t open_errors[hostile_error_kinds] = {};
  std::uint64_t writes[hostile_target_count] = {};
  std::uint64_t max_open_ns = 0;
  std::uint64_t max_overrun_ns = 0;      ///< less the waits for a CPU (what call_overrun checks)
  std::string max_overrun_what;         ///< variant, party, call and timeout of the longest overrun
  std::uint64_t max_raw_overrun_ns = 0;  ///< waits for a CPU included
  std::uint64_t incarnations[4] = {};  ///< by party_role
  std::uint64_t kills = 0, other_deaths = 0, bad_exits = 0;

  void add(const tally& o) {
    calls += o.calls, sent += o.sent, received += o.received, whole += o.whole, unbounded += o.unbounded;
    opens += o.opens;
    for (unsigned k = 0; k < hostile_error_kinds; ++k) errors[k] += o.errors[k], open_errors[k] += o.open_errors[k];
    for (unsigned k = 0; k < hostile_target_count; ++k) writes[k] += o.writes[k];
    for (unsigned k = 0; k < 4; ++k) incarnations[k] += o.incarnations[k];
    max_open_ns = std::max(max_open_ns, o.max_open_ns);
    max_raw_overrun_ns = std::max(max_raw_overrun_ns, o.max_raw_overrun_ns);
    if (o.max_overrun_ns >= max_overrun_ns) {
      max_overrun_ns = o.max_overrun_ns;
      max_overrun_what = o.max_overrun_what;
    }
    kills += o.kills, other_deaths += o.other_deaths, bad_exits += o.bad_exits;
  }
  std::uint64_t total_errors() const { return total(errors); }
  std::uint64_t total_open_errors() const { return total(open_errors); }
  std::uint64_t total_writes() const { return total(writes); }
};

struct variant_outcome {
  std::string label;
  tally t;
  std::uint64_t failures = 0;
  double seconds = 0;
};

struct hostile_summary {
  std::uint64_t seed = 0;
  tally t;
  std::uint64_t checks[hcheck_count] = {};
  std::uint64_t failures[hcheck_count] = {};
  std::vector<variant_outcome> variants;
  std::vector<std::string> failure_reports;
  std::string rerun;  ///< the command line that replays this run
  unsigned slack_ms = 0, progress_bound_ms = 0;
  double seconds = 0;
  std::uint64_t total_failures() const { return total(failures); }
};

struct hostile_party : party_process {
  bool hung_reported = false;  ///< a progress failure is reported once per incarnation
};

// Names, seeds, the cast, the timeline and the clean-up: variant_stage.hpp.
class hostile_run : variant_stage<hostile_party> {
 public:
  hostile_run(const hostile_options& opt, const variant& v, unsigned index, std::uint64_t kills, double seconds,
              std::uint64_t t0, hostile_summary& sum)
      : variant_stage("torture.hostile.", v, opt.seed, index, t0, opt.verbose), opt_(opt), kills_budget_(kills),
        seconds_(seconds), sum_(sum) {
    out_.label = v.label();
  }

  variant_outcome run();

 private:
  using party = hostile_party;

  void start();
  void run_phase();
  void stop_phase();
  void collect();

  bool spawn(party& p);
  void reap();
  void on_death(party& p, int status);
  void kill_one(party& p);
  void restart_due();
  void watch_progress();

  void check(hcheck c, bool ok, const std::string& what_if_failed, std::uint64_t at_ns = 0);
  std::string who(const party& p) const { return torture::who(p, role_name(p.role)); }
  unsigned progress_bound_ms() const {
    return opt_.progress_bound_ms ? opt_.progress_bound_ms : opt_.timeout_max_ms + opt_.overrun_slack_ms + 700;
  }

  const hostile_options& opt_;
  std::uint64_t kills_budget_;
  double seconds_;
  hostile_summary& sum_;
  bool stopping_ = false;
  variant_outcome out_;
};

// ---- bookkeeping ---------------------------------------------------------------------------

void hostile_run::check(hcheck c, bool ok, const std::string& what_if_failed, std::uint64_t at_ns) {
  const auto k = static_cast<unsigned>(c);
  ++sum_.checks[k];
  if (ok) return;
  ++sum_.failures[k];
  ++out_.failures;
  const std::uint64_t at = at_ns ? at_ns : monotonic_ns();
  const std::string text = std::string(hcheck_names[k]) + ": " + what_if_failed;
  std::fprintf(stderr, "torture --hostile: at %.3f s: %s\n", rel_s(at), text.c_str());
  log_.failure(at, text);
  note("FAILURE " + text);
}

// ---- parties ----------------------------------------------------------------------------------

bool hostile_run::spawn(party& p) {
  const auto next = next_incarnation();
  if (!next) return false;
  const std::uint64_t id = *next;
  std::vector<std::string> args = command_line(role_name(p.role), p.role, id);
  args.push_back("--timeout-ms");
  args.push_back(std::to_string(opt_.timeout_min_ms) + ":" + std::to_string(opt_.timeout_max_ms));
  start_incarnation(p, id, *rep_.record(id), std::move(args));
  p.hung_reported = false;
  ++out_.t.incarnations[static_cast<unsigned>(p.role)];
  note("start " + who(p));
  return true;
}

void hostile_run::on_death(party& p, int status) {
  p.alive = false;
  // One progress check per incarnation: its failure, if any, was counted when it was seen.
  if (!p.hung_reported) check(hcheck::progress, true, "");
  party_record* rec = rep_.record(p.incarnation);
  rec->end_ns.store(monotonic_ns(), std::memory_order_relaxed);
  if (p.killed_by_us && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
    rec->ended.store(static_cast<std::uint32_t>(end_kind::killed_random), std::memory_order_relaxed);
    ++out_.t.kills;
    check(hcheck::no_crash, true, "");
  } else if (WIFEXITED(status)) {
    rec->ended.store(static_cast<std::uint32_t>(end_kind::exited), std::memory_order_relaxed);
    rec->exit_status.store(WEXITSTATUS(status), std::memory_order_relaxed);
    note(strf("exit %s status %d", who(p).c_str(), WEXITSTATUS(status)));
    const bool expected = WEXITSTATUS(status) == 0 && stopping_;
    if (!expected) ++out_.t.bad_exits;
    check(hcheck::clean_exit, expected,
          WEXITSTATUS(status) == 0
              ? strf("%s exited before it was told to stop", who(p).c_str())
              : strf("%s exited with status %d (a sanitizer's report, if any, is on stderr above)", who(p).c_str(),
                     WEXITSTATUS(status)));
  } else {
    rec->ended.store(static_cast<std::uint32_t>(end_kind::died_other), std::memory_order_relaxed);
    const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    ++out_.t.other_deaths;
    note(strf("died %s signal %d", who(p).c_str(), sig));
    check(hcheck::no_crash, false, strf("%s died of signal %d (%s) that nobody sent", who(p).c_str(), sig, strsignal(sig)));
  }
  // Keep the cast complete: a new incarnation in its place, at once or after up to 50 ms.
  if (!stopping_) {
    p.restart_at_ns = monotonic_ns() + rng_() % 50 * 1000000ull;
    restart_due();
  }
}

void hostile_run::restart_due() {
  const std::uint64_t now = monotonic_ns();
  for (party& p : parties_) {
    if (p.alive || p.restart_at_ns == 0 || p.restart_at_ns > now || stopping_) continue;
    p.restart_at_ns = 0;
    spawn(p);
  }
}

void hostile_run::reap() {
  reap_ended(parties_, [&](party& p, int status) { on_death(p, status); });
}

void hostile_run::kill_one(party& p) {
  note("kill " + who(p));
  p.killed_by_us = true;
  on_death(p, kill_and_wait(p.pid));
}

// A live party whose calls stopped returning: a call that overran without bound (it would
// show as an overrun only once it returned), or a party stuck outside the library.
void hostile_run::watch_progress() {
  const std::uint64_t now = monotonic_ns();
  for (party& p : parties_) {
    if (!p.alive || p.hung_reported) continue;
    const std::uint64_t last = rep_.record(p.incarnation)->hostile.last_call_ns.load(std::memory_order_relaxed);
    // Before its first word in the record the party is still starting (exec, sanitizers).
    const bool started = last >= p.spawned_ns;
    const std::uint64_t since = started ? last : p.spawned_ns;
    const std::uint64_t bound_ns = started ? progress_bound_ms() * 1000000ull : 10000000000ull;
    if (now > since && now - since > bound_ns) {
      p.hung_reported = true;
      check(hcheck::progress, false,
            strf("%s: no call returned for %.1f ms (bound %u ms)%s", who(p).c_str(), static_cast<double>(now - since) / 1e6,
                 started ? progress_bound_ms() : 10000u, started ? "" : " since it was started"));
    }
  }
}

// ---- the phases ----------------------------------------------------------------------------

void hostile_run::start() {
  remove_channel(channel_);
  const std::uint64_t parties = v_.senders + v_.receivers + 1;
  rep_ = report::create(report_name_, static_cast<std::uint32_t>(parties + kills_budget_ + 64));
  note("variant " + v_.label() + strf(" seed %llu", static_cast<ull>(seed_)));
  // The channel first: the scribbler inspects a segment that must exist.
  std::string error;
  with_channel_types(v_, [&]<class T, coipc::detail::channel_kind K>() {
    std::error_code ec;
    coipc::basic_channel<T, K> ch(channel_, coipc::role::receiver, options_for(v_), ec);
    if (ec) error = coipc::last_error_message();
  });
  if (!error.empty()) throw std::runtime_error("cannot create channel " + channel_ + ": " + error);
  for (unsigned i = 0; i < v_.receivers; ++i) parties_.push_back({{party_role::receiver}});
  for (unsigned i = 0; i < v_.senders; ++i) parties_.push_back({{party_role::sender}});
  parties_.push_back({{party_role::scribbler}});
  for (party& p : parties_) spawn(p);
}

void hostile_run::run_phase() {
  const std::uint64_t begin = monotonic_ns();
  const std::uint64_t end = begin + static_cast<std::uint64_t>(seconds_ * 1e9);
  // The kills at random instants within the middle 80% of the variant's time.
  std::vector<std::uint64_t> kill_at;
  for (std::uint64_t i = 0; i < kills_budget_; ++i) {
    kill_at.push_back(begin + static_cast<std::uint64_t>((0.1 + 0.8 * std::uniform_real_distribution<double>(0, 1)(rng_)) *
                                                         seconds_ * 1e9));
  }
  std::sort(kill_at.begin(), kill_at.end(), std::greater<>());  // next one at the back
  while (monotonic_ns() < end) {
    reap();
    restart_due();
    watch_progress();
    while (!kill_at.empty() && monotonic_ns() >= kill_at.back()) {
      kill_at.pop_back();
      std::vector<party*> alive;
      for (party& p : parties_) {
        if (p.alive) alive.push_back(&p);
      }
      if (!alive.empty()) kill_one(*alive[rng_() % alive.size()]);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void hostile_run::stop_phase() {
  stopping_ = true;
  rep_.header().hostile_stop.store(1, std::memory_order_relaxed);
  note("stop");
  // A party leaves after its current call: a timeout plus the slack, plus its exit (longer
  // under sanitizers, which check for leaks on the way out).
  const std::uint64_t deadline = monotonic_ns() + 10000000000ull;
  for (;;) {
    reap();
    watch_progress();
    const bool all_gone = std::none_of(parties_.begin(), parties_.end(), [](const party& p) { return p.alive; });
    if (all_gone || monotonic_ns() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (party& p : parties_) {
    check(hcheck::stops, !p.alive, strf("%s did not leave within 10 s of the stop", who(p).c_str()));
    if (p.alive) kill_one(p);
  }
}

// Sums every incarnation's record, and checks what only the records know: the longest
// overrun of each incarnation's calls, and the frames that were not bounded.
void hostile_run::collect() {
  tally& t = out_.t;
  const std::uint64_t slack_ns = opt_.overrun_slack_ms * 1000000ull;
  for (std::uint64_t id = 1; id <= next_incarnation_; ++id) {
    const party_record* rec = rep_.record(id);
    const hostile_record& h = rec->hostile;
    const auto role = static_cast<party_role>(rec->role.load(std::memory_order_relaxed));
    const std::string name = strf("#%llu %s pid %d", static_cast<ull>(id), role_name(role),
                                  static_cast<int>(rec->pid.load(std::memory_order_relaxed)));
    t.calls += role == party_role::scribbler ? 0 : h.calls.load(std::memory_order_relaxed);
    if (role == party_role::sender) t.sent += h.frames.load(std::memory_order_relaxed);
    if (role == party_role::receiver) t.received += h.frames.load(std::memory_order_relaxed);
    t.whole += h.whole.load(std::memory_order_relaxed);
    t.opens += h.opens.load(std::memory_order_relaxed);
    for (unsigned k = 0; k < hostile_error_kinds; ++k) {
      t.errors[k] += h.errors[k].load(std::memory_order_relaxed);
      t.open_errors[k] += h.open_errors[k].load(std::memory_order_relaxed);
    }
    for (unsigned k = 0; k < hostile_target_count; ++k) t.writes[k] += h.writes[k].load(std::memory_order_relaxed);
    t.max_open_ns = std::max(t.max_open_ns, h.max_open_ns.load(std::memory_order_relaxed));

    const std::uint64_t over = h.max_overrun_ns.load(std::memory_order_relaxed);
    const auto call = std::min<std::uint32_t>(h.max_overrun_call.load(std::memory_order_relaxed), call_kind_count - 1);
    const std::string what =
        strf("%s %s: %s with a timeout of %.1f ms returned %.1f ms past it (and %.1f ms more waiting for a CPU)",
             v_.label().c_str(), name.c_str(), call_kind_names[call],
             h.max_overrun_timeout_us.load(std::memory_order_relaxed) / 1e3, static_cast<double>(over) / 1e6,
             static_cast<double>(h.max_overrun_waited_ns.load(std::memory_order_relaxed)) / 1e6);
    t.max_raw_overrun_ns = std::max(t.max_raw_overrun_ns, h.max_raw_overrun_ns.load(std::memory_order_relaxed));
    if (over >= t.max_overrun_ns) {
      t.max_overrun_ns = over;
      t.max_overrun_what = what;
    }
    if (role != party_role::scribbler) {
      check(hcheck::call_overrun, over <= slack_ns, what + strf(" (slack %u ms)", opt_.overrun_slack_ms),
            h.max_overrun_at_ns.load(std::memory_order_relaxed));
    }
    const std::uint64_t unbounded = h.unbounded.load(std::memory_order_relaxed);
    t.unbounded += unbounded;
    if (role == party_role::receiver) {
      check(hcheck::bounded_frames, unbounded == 0,
            strf("%s: %llu frames out of bounds; the first: %s", name.c_str(), static_cast<ull>(unbounded),
                 rec->failure_text_ready.load(std::memory_order_acquire) ? rec->failure_text : "?"),
            rec->first_failure_ns.load(std::memory_order_relaxed));
    } else if (rec->failure_text_ready.load(std::memory_order_acquire)) {
      note(name + " noted: " + rec->failure_text);  // e.g. an exception that ended it (its exit status fails)
    }
  }
  check(hcheck::scribbled, t.total_writes() > 0, v_.label() + ": the scribbler wrote nothing");

  log_.report_failures(v_.label(), opt_.seed, seed_, sum_.failure_reports);
}

variant_outcome hostile_run::run() {
  const std::uint64_t began = monotonic_ns();
  start();
  run_phase();
  stop_phase();
  collect();
  out_.seconds = static_cast<double>(monotonic_ns() - began) / 1e9;
  return out_;
}

// ---- the run and its summary ------------------------------------------------------------------

std::string by_kind(const std::uint64_t (&counts)[hostile_error_kinds]) {
  std::string s;
  for (unsigned k = 0; k < hostile_error_kinds; ++k) {
    if (counts[k]) s += strf("%s%s %llu", s.empty() ? "" : ", ", hostile_error_names[k], static_cast<ull>(counts[k]));
  }
  return s.empty() ? "none" : s;
}

void print_summary(const hostile_summary& s, std::FILE* out) {
  const tally& t = s.t;
  std::fprintf(out, "\ncoipc-torture --hostile summary: seed %llu, %zu variant%s, %.1f s\n", static_cast<ull>(s.seed),
               s.variants.size(), s.variants.size() == 1 ? "" : "s", s.seconds);
  std::fprintf(out, "parties: %llu sender, %llu receiver and %llu scribbler incarnations; %llu killed by the supervisor\n",
               static_cast<ull>(t.incarnations[1]), static_cast<ull>(t.incarnations[2]),
               static_cast<ull>(t.incarnations[3]), static_cast<ull>(t.kills));
  std::fprintf(out, "calls: %llu; frames sent %llu, received %llu (%llu whole torture messages, %llu out of bounds)\n",
               static_cast<ull>(t.calls), static_cast<ull>(t.sent), static_cast<ull>(t.received),
               static_cast<ull>(t.whole), static_cast<ull>(t.unbounded));
  std::fprintf(out, "call errors: %s\n", by_kind(t.errors).c_str());
  std::fprintf(out, "opens: %llu, failed: %s; longest open %.1f ms\n", static_cast<ull>(t.opens),
               by_kind(t.open_errors).c_str(), static_cast<double>(t.max_open_ns) / 1e6);
  std::fprintf(out,
               "longest overrun past a call's own timeout: %.1f ms not counting waits for a CPU (slack %u ms); "
               "%.1f ms counting them%s%s\n",
               static_cast<double>(t.max_overrun_ns) / 1e6, s.slack_ms, static_cast<double>(t.max_raw_overrun_ns) / 1e6,
               t.max_overrun_what.empty() ? "" : "\n  ", t.max_overrun_what.c_str());
  std::fprintf(out, "scribbler writes: %llu:", static_cast<ull>(t.total_writes()));
  for (unsigned k = 0; k < hostile_target_count; ++k) {
    std::fprintf(out, " %s %llu", scribble_target_names[k], static_cast<ull>(t.writes[k]));
  }
  std::fprintf(out, "\ndeaths: %llu by the supervisor's SIGKILL, %llu by other signals; %llu exits with an error or too early\n",
               static_cast<ull>(t.kills), static_cast<ull>(t.other_deaths), static_cast<ull>(t.bad_exits));
  print_check_table(out, "check", 16, 10, hcheck_names, hcheck_descriptions, s.checks, s.failures, hcheck_count);
  print_result(out, s.total_failures(), s.seed, s.rerun, s.failure_reports);
}

std::string json_counts(const std::uint64_t* counts, const char* const* names, unsigned n) {
  std::string s = "{";
  bool first = true;
  for (unsigned k = 0; k < n; ++k) {
    if (!counts[k]) continue;
    s += strf("%s\"%s\": %llu", first ? "" : ", ", names[k], static_cast<ull>(counts[k]));
    first = false;
  }
  return s + "}";
}

std::string json_tally(const tally& t) {
  return strf("\"incarnations\": {\"senders\": %llu, \"receivers\": %llu, \"scribblers\": %llu}, \"kills\": %llu, ",
              static_cast<ull>(t.incarnations[1]), static_cast<ull>(t.incarnations[2]),
              static_cast<ull>(t.incarnations[3]), static_cast<ull>(t.kills)) +
         strf("\"calls\": %llu, \"sent\": %llu, \"received\": %llu, \"whole\": %llu, \"unbounded\": %llu, ",
              static_cast<ull>(t.calls), static_cast<ull>(t.sent), static_cast<ull>(t.received),
              static_cast<ull>(t.whole), static_cast<ull>(t.unbounded)) +
         "\"errors\": " + json_counts(t.errors, hostile_error_names, hostile_error_kinds) +
         strf(", \"opens\": %llu, \"open_errors\": ", static_cast<ull>(t.opens)) +
         json_counts(t.open_errors, hostile_error_names, hostile_error_kinds) +
         strf(", \"longest_open_ms\": %.3f, \"longest_overrun_ms\": %.3f, \"longest_raw_overrun_ms\": %.3f, "
              "\"longest_overrun\": ",
              static_cast<double>(t.max_open_ns) / 1e6, static_cast<double>(t.max_overrun_ns) / 1e6,
              static_cast<double>(t.max_raw_overrun_ns) / 1e6) +
         json_string(t.max_overrun_what) + ", \"writes\": " +
         json_counts(t.writes, scribble_target_names, hostile_target_count) +
         strf(", \"deaths_by_other_signals\": %llu, \"bad_exits\": %llu", static_cast<ull>(t.other_deaths),
              static_cast<ull>(t.bad_exits));
}

bool write_json(const hostile_summary& s, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  std::fprintf(f, "{\n  \"mode\": \"hostile\",\n  \"seed\": %llu,\n  \"seconds\": %.3f,\n  \"result\": \"%s\",\n",
               static_cast<ull>(s.seed), s.seconds, s.total_failures() ? "fail" : "pass");
  std::fprintf(f, "  \"rerun\": %s,\n  \"overrun_slack_ms\": %u,\n  \"progress_bound_ms\": %u,\n", json_string(s.rerun).c_str(),
               s.slack_ms, s.progress_bound_ms);
  std::fprintf(f, "  \"totals\": {%s},\n  \"checks\": {", json_tally(s.t).c_str());
  json_checks(f, hcheck_names, s.checks, s.failures, hcheck_count);
  std::fprintf(f, "\n  },\n  \"variants\": [");
  for (std::size_t i = 0; i < s.variants.size(); ++i) {
    const variant_outcome& v = s.variants[i];
    std::fprintf(f, "%s\n    {\"variant\": %s, %s, \"failures\": %llu, \"seconds\": %.3f}", i ? "," : "",
                 json_string(v.label).c_str(), json_tally(v.t).c_str(), static_cast<ull>(v.failures), v.seconds);
  }
  std::fprintf(f, "\n  ],\n  \"failure_reports\": [");
  json_strings(f, s.failure_reports);
  std::fprintf(f, "\n  ]\n}\n");
  return std::fclose(f) == 0;
}

std::string rerun_command(const hostile_options& opt) {
  std::string s = strf("coipc-torture --hostile --seed %llu --duration-s %g", static_cast<ull>(opt.seed), opt.duration_s);
  if (opt.all) {
    s += " --all";
  } else {
    for (const auto& f : opt.single.flags()) s += " " + f;
  }
  s += strf(" --kills %llu --senders %u --receivers %u --timeout-ms %u:%u --overrun-slack-ms %u",
            static_cast<ull>(opt.kills), opt.channel_senders, opt.single.receivers, opt.timeout_min_ms,
            opt.timeout_max_ms, opt.overrun_slack_ms);
  if (opt.progress_bound_ms) s += strf(" --progress-bound-ms %u", opt.progress_bound_ms);
  return s;
}

}  // namespace

int run_hostile(const hostile_options& opt) {
  hostile_summary sum;
  sum.seed = opt.seed;
  sum.rerun = rerun_command(opt);
  sum.slack_ms = opt.overrun_slack_ms;
  sum.progress_bound_ms = opt.progress_bound_ms ? opt.progress_bound_ms : opt.timeout_max_ms + opt.overrun_slack_ms + 700;
  const std::uint64_t t0 = monotonic_ns();
  const std::vector<variant> variants = variants_of(opt.all, opt.single, opt.channel_senders);
  std::printf("coipc-torture --hostile: seed %llu, %zu variant%s, %.0f s, %llu kills, call timeouts %u-%u ms, "
              "overrun slack %u ms (rerun: %s)\n",
              static_cast<ull>(opt.seed), variants.size(), variants.size() == 1 ? "" : "s", opt.duration_s,
              static_cast<ull>(opt.kills), opt.timeout_min_ms, opt.timeout_max_ms, opt.overrun_slack_ms,
              sum.rerun.c_str());
  if (!fault_points_compiled_in()) {
    std::printf("coipc-torture --hostile: a build without COIPC_FAULT_INJECTION has no guard regions after its "
                "mappings: an overread may go unseen\n");
  }
  std::fflush(stdout);
  const auto n = static_cast<std::uint64_t>(variants.size());
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t kills = share_of(opt.kills, n, i);
    variant_outcome r;
    {
      hostile_run run(opt, variants[i], static_cast<unsigned>(i), kills, opt.duration_s / static_cast<double>(n), t0, sum);
      r = run.run();
    }
    const tally& t = r.t;
    std::printf("[%2llu/%llu] %-32s parties %u+%u+1  kills %3llu  calls %8llu  sent %8llu  received %8llu (whole %8llu)  "
                "errors %7llu  opens %4llu (%llu failed)  overrun %6.1f ms  writes %8llu  %5.2f s  %s\n",
                static_cast<ull>(i + 1), static_cast<ull>(n), r.label.c_str(), variants[i].senders,
                variants[i].receivers, static_cast<ull>(t.kills), static_cast<ull>(t.calls), static_cast<ull>(t.sent),
                static_cast<ull>(t.received), static_cast<ull>(t.whole), static_cast<ull>(t.total_errors()),
                static_cast<ull>(t.opens), static_cast<ull>(t.total_open_errors()),
                static_cast<double>(t.max_overrun_ns) / 1e6, static_cast<ull>(t.total_writes()), r.seconds,
                r.failures ? "FAILED" : "ok");
    std::fflush(stdout);
    sum.t.add(t);
    sum.variants.push_back(std::move(r));
  }
  sum.seconds = static_cast<double>(monotonic_ns() - t0) / 1e9;
  return finish_run(sum, opt.json_path);
}

}  // namespace torture
