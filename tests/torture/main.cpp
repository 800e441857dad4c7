// coipc-torture: senders and receivers as separate processes, killed with SIGKILL at random
// instants and at the library's fault points, restarted as new incarnations, with the
// channel's invariants checked the whole time. See README.md in this folder.
//
// One binary: run plainly it is the supervisor; the supervisor starts every party by
// exec'ing it again with --party.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <sys/prctl.h>
#include <unistd.h>

#include "hostile.hpp"
#include "party.hpp"
#include "supervisor.hpp"

namespace {

constexpr const char* usage = R"(usage: coipc-torture [options]

  --kills N              kills in all, split over the variants (default 200; 0: until --duration-s)
  --seed S               seed of every random choice (default: random, printed)
  --duration-s D         end the kill phases after D seconds in all, even with kills left
  --all                  cycle through all 16 variants (else the one the flags below name)
  --kind route|channel   (default route)
  --policy block|overwrite
  --payload bytes|typed
  --api blocking|coroutine
  --senders N            senders of a channel (default 2; a route has 1)
  --receivers N          receivers (default 2, at most 6)
  --arm-probability P    chance that a restarted party is armed to die at a fault point (0.35)
  --blind-probability P  chance that a party's liveness checks are blind, as under hidepid (0.2)
  --progress-bound-ms MS longest gap allowed between a live party's messages after the last
                         kill (default 10 x the 50 ms stall timeout)
  --quiet-ms MS          length of the quiet phase after the last kill (default bound + 200)
  --json FILE            write the summary as JSON too
  --verbose              print every start, kill and death as it happens

Hostile writer (README.md, "Hostile writer"): a scribbler process writes garbage into the
live segment while senders and receivers make timed and try calls; every call must return
an error or a bounded frame, by its own timeout, and no party may crash.

  --hostile              run the hostile-writer mode instead of the kill torture; takes
                         --seed, --duration-s (default 20, split over the variants), --all or
                         the variant flags, --senders, --receivers, --json, --verbose, and:
  --kills N              parties SIGKILLed at random instants and restarted (default 2 a second)
  --timeout-ms MIN:MAX   each timed call's own timeout, uniform in MIN..MAX (default 50:100)
  --overrun-slack-ms MS  how far past its timeout a call may return (default 200: a loaded machine)
  --progress-bound-ms MS longest a live party may go without a call returning
                         (default MAX + slack + 700)

Exit status: 0 when every invariant held, 1 when any failed (the seed and the events
around each failure are printed), 2 on a usage or set-up error.
)";

int usage_error(const std::string& what) {
  std::fprintf(stderr, "coipc-torture: %s\n\n%s", what.c_str(), usage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "--party") {
    // A party dies with its supervisor: orphaned, it would run on (a sender blocked for
    // ever, a receiver holding its slot) and keep the run's segments in use.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() == 1) return 2;  // the supervisor was gone before that
  }
  if (args.size() > 1 && args[0] == "--party" && torture::is_hostile_role(args[1])) {
    std::string error;
    const auto cfg = torture::parse_hostile_party(args, error);
    if (!cfg) {
      std::fprintf(stderr, "coipc-torture: %s\n", error.c_str());
      return 2;
    }
    try {
      return torture::run_hostile_party(*cfg);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "coipc-torture hostile party #%llu: %s\n", static_cast<unsigned long long>(cfg->incarnation), e.what());
      return 4;
    }
  }
  if (!args.empty() && args[0] == "--party") {
    std::string error;
    const auto cfg = torture::parse_party(args, error);
    if (!cfg) {
      std::fprintf(stderr, "coipc-torture: %s\n", error.c_str());
      return 2;
    }
    try {
      return cfg->role == torture::party_role::sender ? torture::run_sender(*cfg) : torture::run_receiver(*cfg);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "coipc-torture party #%llu: %s\n", static_cast<unsigned long long>(cfg->incarnation), e.what());
      return 4;
    }
  }

  torture::run_options opt;
  opt.single.senders = 1;
  bool seed_given = false;
  unsigned channel_senders = 2;
  // --hostile: its own defaults where the kill torture's would not fit.
  bool hostile = false, kills_given = false, duration_given = false, bound_given = false;
  torture::hostile_options hopt;
  try {
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      auto value = [&]() -> const std::string& {
        if (i + 1 >= args.size()) throw std::invalid_argument("missing value after " + a);
        return args[++i];
      };
      if (a == "--help" || a == "-h") {
        std::fputs(usage, stdout);
        return 0;
      } else if (a == "--kills") {
        opt.kills = std::stoull(value());
        kills_given = true;
      } else if (a == "--seed") {
        opt.seed = std::stoull(value());
        seed_given = true;
      } else if (a == "--duration-s") {
        opt.duration_s = std::stod(value());
        duration_given = true;
      } else if (a == "--all") {
        opt.all = true;
      } else if (a == "--kind") {
        const std::string& v = value();
        if (v != "route" && v != "channel") return usage_error("--kind route|channel");
        opt.single.kind = v == "route" ? torture::kind_t::route : torture::kind_t::channel;
      } else if (a == "--policy") {
        const std::string& v = value();
        if (v != "block" && v != "overwrite") return usage_error("--policy block|overwrite");
        opt.single.policy = v == "block" ? torture::policy_t::block : torture::policy_t::overwrite;
      } else if (a == "--payload") {
        const std::string& v = value();
        if (v != "bytes" && v != "typed") return usage_error("--payload bytes|typed");
        opt.single.payload = v == "bytes" ? torture::payload_t::bytes : torture::payload_t::typed;
      } else if (a == "--api") {
        const std::string& v = value();
        if (v != "blocking" && v != "coroutine") return usage_error("--api blocking|coroutine");
        opt.single.api = v == "blocking" ? torture::api_t::blocking : torture::api_t::coroutine;
      } else if (a == "--senders") {
        channel_senders = static_cast<unsigned>(std::stoul(value()));
      } else if (a == "--receivers") {
        opt.single.receivers = static_cast<unsigned>(std::stoul(value()));
      } else if (a == "--arm-probability") {
        opt.arm_probability = std::stod(value());
      } else if (a == "--blind-probability") {
        opt.blind_probability = std::stod(value());
      } else if (a == "--progress-bound-ms") {
        opt.progress_bound_ms = static_cast<unsigned>(std::stoul(value()));
        bound_given = true;
      } else if (a == "--quiet-ms") {
        opt.quiet_ms = static_cast<unsigned>(std::stoul(value()));
      } else if (a == "--json") {
        opt.json_path = value();
      } else if (a == "--verbose") {
        opt.verbose = true;
      } else if (a == "--hostile") {
        hostile = true;
      } else if (a == "--timeout-ms") {
        const std::string& v = value();
        const auto colon = v.find(':');
        if (colon == std::string::npos) return usage_error("--timeout-ms MIN:MAX");
        hopt.timeout_min_ms = static_cast<unsigned>(std::stoul(v.substr(0, colon)));
        hopt.timeout_max_ms = static_cast<unsigned>(std::stoul(v.substr(colon + 1)));
        if (hopt.timeout_min_ms > hopt.timeout_max_ms) return usage_error("--timeout-ms: MIN above MAX");
      } else if (a == "--overrun-slack-ms") {
        hopt.overrun_slack_ms = static_cast<unsigned>(std::stoul(value()));
      } else {
        return usage_error("unknown option " + a);
      }
    }
  } catch (const std::exception& e) {
    return usage_error(e.what());
  }
  // Senders: the channel's slots hold the parties plus the supervisor's own endpoint;
  // receivers: the same, for the end check that takes every slot.
  if (channel_senders < 1 || channel_senders > torture::max_senders - 1) {
    return usage_error("--senders: 1.." + std::to_string(torture::max_senders - 1));
  }
  if (opt.single.receivers < 1 || opt.single.receivers > torture::max_receivers - 2) {
    return usage_error("--receivers: 1.." + std::to_string(torture::max_receivers - 2));
  }
  if (!seed_given) opt.seed = std::random_device{}() % 1000000;
  if (hostile) {
    hopt.seed = opt.seed;
    hopt.duration_s = duration_given ? opt.duration_s : 20;
    if (hopt.duration_s <= 0) return usage_error("--hostile: --duration-s must be positive");
    hopt.all = opt.all;
    hopt.single = opt.single;
    hopt.single.senders = opt.single.kind == torture::kind_t::route ? 1 : channel_senders;
    hopt.channel_senders = channel_senders;
    hopt.kills = kills_given ? opt.kills : static_cast<std::uint64_t>(2 * hopt.duration_s);
    hopt.progress_bound_ms = bound_given ? opt.progress_bound_ms : 0;
    hopt.json_path = opt.json_path;
    hopt.verbose = opt.verbose;
    try {
      return torture::run_hostile(hopt);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "coipc-torture --hostile: %s (seed %llu)\n", e.what(), static_cast<unsigned long long>(opt.seed));
      return 2;
    }
  }
  if (opt.kills == 0 && opt.duration_s <= 0) return usage_error("--kills 0 needs --duration-s");
  opt.channel_senders = channel_senders;
  opt.single.senders = opt.single.kind == torture::kind_t::route ? 1 : channel_senders;
  try {
    return torture::run_supervisor(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "coipc-torture: %s (seed %llu)\n", e.what(), static_cast<unsigned long long>(opt.seed));
    return 2;
  }
}
