// coipc-bench: coipc against its peers, scenario by scenario, in one run.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "json.hpp"
#include "matrix.hpp"
#include "memory.hpp"
#include "options.hpp"
#include "registry.hpp"
#include "result.hpp"
#include "runner.hpp"
#include "system.hpp"
#include "table.hpp"

namespace {

using namespace bench;

volatile sig_atomic_t interrupted = 0;

void on_interrupt(int) {
  interrupted = 1;
  if (pid_t r = current_runner.load(); r > 0) kill(-r, SIGKILL);
}

/// Runs a case `repeat` times and keeps the run with the median us/datum, and the spread.
result run_repeats(ipc_system& sys, const case_spec& c, const size_table& sizes, shared_state& sh, std::uint32_t repeat,
                   double timeout_s, unsigned& counter, const std::string& label) {
  result r{c, run_status::ok, {}, {}, {}, {}, 0};
  std::vector<measurement> runs;
  const bool tty = isatty(STDERR_FILENO);
  for (std::uint32_t i = 0; i < repeat && !interrupted; ++i) {
    const std::string prefix = fmt::format("cb{}-{}", getpid(), counter++);
    const std::int64_t start = now_ns();
    bool shown = false;
    auto progress = [&](double fraction) {
      // A progress line only for runs long enough to wonder about, and only on a terminal.
      if (!tty || now_ns() - start < 1'000'000'000) return;
      fmt::print(stderr, "\r  {} run {}/{}: {:3.0f}%   ", label, i + 1, repeat, std::min(fraction, 1.0) * 100);
      shown = true;
    };
    runs.push_back(run_case(sys, c, sizes, sh, prefix, timeout_s, progress));
    if (shown) fmt::print(stderr, "\r{:<70}\r", "");
    if (interrupted) {
      runs.back().status = run_status::failed;
      runs.back().error = "interrupted";
    }
    if (runs.back().status != run_status::ok) break;
  }
  r.repeats = static_cast<std::uint32_t>(runs.size());
  if (runs.empty()) {
    r.status = run_status::failed;
    r.median.error = "interrupted";
    return r;
  }
  if (runs.back().status != run_status::ok) {
    r.status = runs.back().status;
    r.median = runs.back();
    return r;
  }
  std::sort(runs.begin(), runs.end(), [](const measurement& a, const measurement& b) {
    return a.us_per_datum.value_or(1e300) < b.us_per_datum.value_or(1e300);
  });
  r.median = runs[(runs.size() - 1) / 2];
  r.us_min = runs.front().us_per_datum;
  r.us_max = runs.back().us_per_datum;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const auto parsed = parse_options(argc, argv);
  if (!parsed.error.empty()) {
    fmt::print(stderr, "coipc-bench: {}\n{}", parsed.error, usage());
    return 2;
  }
  const options& o = parsed.options;
  if (o.help) {
    fmt::print("{}", usage());
    return 0;
  }

  std::FILE* json = nullptr;
  if (!o.json_path.empty()) {
    json = std::fopen(o.json_path.c_str(), "w");
    if (!json) {
      fmt::print(stderr, "coipc-bench: cannot write {}\n", o.json_path);
      return 1;
    }
  }

  // The memory scenario instead of the matrix: one process, no runner, no peers.
  if (o.memory_channels) {
    const memory_report r = run_memory(o);
    fmt::print("{}", memory_text(r));
    if (json) {
      fmt::print(json, "{}\n", to_json(r));
      std::fclose(json);
    }
    return r.status == run_status::ok ? 0 : 1;
  }

  // Peers write to sockets and pipes whose reader may be gone after a failure: an error
  // from write() is what we want, not a silent death.
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa{};
  sa.sa_handler = on_interrupt;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  // `--system all` runs the systems built; the peers CMake did not find are said here, once,
  // before any result, so a table without them is not read as them having been skipped.
  if (o.all_systems) {
    if (const std::string line = not_built_line(); !line.empty()) fmt::print("coipc-bench: {}\n", line);
  }
  const std::vector<std::string> missing = missing_system_names();

  const std::vector<case_spec> cases = build_matrix(o);
  std::vector<std::unique_ptr<ipc_system>> systems;
  for (const auto& name : o.systems) systems.push_back(make_system(name));
  for (auto& sys : systems)
    for (const auto& remark : sys->prepare()) fmt::print("note: {}: {}\n", sys->name(), remark);

  shared_state* sh = shared_state::create();
  const double timeout_s = o.timeout_s.value_or(o.quick ? 30 : 300);
  const std::int64_t t_start = now_ns();
  unsigned counter = 0;
  int ok = 0, failed = 0, skipped = 0;
  for (const case_spec& base : cases) {
    if (interrupted) break;
    const size_table sizes(base.size_min, base.size_max);
    fmt::print("\n{}\n{}\n", scenario_title(base), table_header(base));
    std::fflush(stdout);
    for (auto& sys : systems) {
      if (interrupted) break;
      case_spec c = base;
      c.system = std::string(sys->name());
      const support sup = sys->check(c);
      result r{c, run_status::ok, sup.note, {}, {}, {}, 0};
      if (!sup.ok) {
        r.status = run_status::not_applicable;
        ++skipped;
      } else {
        const std::string label = fmt::format("{} {} {}", c.system, to_string(c.pattern), c.topology());
        const std::string note = r.note;
        r = run_repeats(*sys, c, sizes, *sh, o.repeat, timeout_s, counter, label);
        r.note = note;
        (r.status == run_status::ok ? ok : failed)++;
        if (json) fmt::print(json, "{}\n", to_json(r, missing));
      }
      fmt::print("{}\n", table_row(r));
      std::fflush(stdout);
    }
  }
  for (auto& sys : systems) sys->finish();
  if (json) std::fclose(json);
  fmt::print("\n{} results ({} failed), {} not applicable, in {:.1f} s{}\n", ok + failed, failed, skipped,
             static_cast<double>(now_ns() - t_start) * 1e-9, interrupted ? " (interrupted)" : "");
  fmt::print(
      "us/datum: first send to last receive, per message of one sender (pingpong: per one-way trip). "
      "futex/msg: coipc's own count of futex calls. csw/msg: voluntary context switches of all parties per "
      "message sent, a proxy for blocking system calls. cpu s: all parties, start to end (thread mode: the whole "
      "process; iceoryx's RouDi not included).\n");
  if (interrupted) return 130;
  return failed ? 1 : 0;
}
