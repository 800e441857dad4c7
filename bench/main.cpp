// coipc-bench: coipc against its peers, scenario by scenario, in one run.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

/// Runs a case on one system: for a case sized by time (`c.messages` 0), first its
/// calibration (matrix.hpp), then `repeat` measured runs; keeps the run with the median
/// us/datum, and the spread. Only measured runs are reported.
result run_repeats(ipc_system& sys, case_spec c, const size_table& sizes, shared_state& sh, std::uint32_t repeat,
                   double target_s, double timeout_s, unsigned& counter, const std::string& label) {
  result r{c, run_status::ok, {}, {}, {}, {}, 0, {}};
  const bool tty = isatty(STDERR_FILENO);
  auto run_once = [&](const std::string& what) {
    const std::string prefix = fmt::format("cb{}-{}", getpid(), counter++);
    const std::int64_t start = now_ns();
    bool shown = false;
    auto progress = [&](double fraction) {
      // A progress line only for runs long enough to wonder about, and only on a terminal.
      if (!tty || now_ns() - start < 1'000'000'000) return;
      fmt::print(stderr, "\r  {} {}: {:3.0f}%   ", label, what, std::min(fraction, 1.0) * 100);
      shown = true;
    };
    measurement m = run_case(sys, c, sizes, sh, prefix, timeout_s, progress);
    if (shown) fmt::print(stderr, "\r{:<70}\r", "");
    if (interrupted) {
      m.status = run_status::failed;
      m.error = "interrupted";
    }
    return m;
  };
  auto failed = [&](measurement m, std::string_view during) {
    r.spec = c;
    r.status = m.status;
    if (!during.empty()) m.error = fmt::format("{}: {}", during, m.error);
    r.median = std::move(m);
    return r;
  };

  if (c.messages == 0) {  // sized by time
    calibration& cal = r.calibration.emplace();
    cal.target_s = target_s;
    std::uint64_t n = first_calibration_messages(c.pattern, c.size_max);
    for (;;) {
      c.messages = n;
      measurement m = run_once(fmt::format("calibration {}", ++cal.runs));
      if (m.status != run_status::ok) return failed(std::move(m), "calibration");
      cal.messages = n;
      cal.seconds = m.run_s.value_or(0);
      n = next_calibration(c.pattern, n, cal.seconds, target_s);
      if (n == 0) break;
    }
    c.messages = count_for(c.pattern, cal.messages, cal.seconds, target_s);
  }

  std::vector<measurement> runs;
  bool resized = false;
  while (runs.size() < repeat && !interrupted) {
    measurement m = run_once(fmt::format("run {}/{}", runs.size() + 1, repeat));
    // A first measured run well short of the target is one more calibration: sized again, once.
    if (r.calibration && !resized && m.status == run_status::ok && m.run_s &&
        *m.run_s < measured_enough * target_s && c.messages < max_timed_messages(c.pattern)) {
      resized = true;
      r.calibration->messages = c.messages;
      r.calibration->seconds = *m.run_s;
      ++r.calibration->runs;
      c.messages = count_for(c.pattern, c.messages, *m.run_s, target_s);
      continue;
    }
    runs.push_back(std::move(m));
    if (runs.back().status != run_status::ok) break;
  }
  r.spec = c;
  r.repeats = static_cast<std::uint32_t>(runs.size());
  if (runs.empty()) {
    measurement m;
    m.status = run_status::failed;
    m.error = "interrupted";
    return failed(std::move(m), "");
  }
  if (runs.back().status != run_status::ok) return failed(runs.back(), "");
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
  const double timeout_s = run_timeout(o);
  const std::optional<double> target_s = time_based(o) ? std::optional<double>(target_duration(o)) : std::nullopt;
  const std::int64_t t_start = now_ns();
  unsigned counter = 0;
  int ok = 0, failed = 0, skipped = 0;
  for (const case_spec& base : cases) {
    if (interrupted) break;
    const size_table sizes(base.size_min, base.size_max);
    fmt::print("\n{}\n{}\n", scenario_title(base, target_s), table_header(base));
    std::fflush(stdout);
    for (auto& sys : systems) {
      // Each API asked for, in order, one row each. A system without one of them (the
      // peers have no coroutine API) runs the others, and says n/a only if it runs none.
      std::vector<std::pair<case_spec, support>> variants;
      for (api_kind api : o.apis) {
        case_spec c = base;
        c.system = std::string(sys->name());
        c.api = api;
        variants.emplace_back(c, sys->check(c));
      }
      const bool runs_any = std::any_of(variants.begin(), variants.end(), [](const auto& v) { return v.second.ok; });
      for (const auto& [c, sup] : variants) {
        if (interrupted) break;
        if (!sup.ok && runs_any) continue;
        result r{c, run_status::ok, sup.note, {}, {}, {}, 0, {}};
        if (!sup.ok) {
          r.status = run_status::not_applicable;
          ++skipped;
        } else {
          const std::string label =
              fmt::format("{} {} {} {}", c.system, to_string(c.api), to_string(c.pattern), c.topology());
          r = run_repeats(*sys, c, sizes, *sh, o.repeat, target_s.value_or(0), timeout_s, counter, label);
          r.note = sup.note;
          (r.status == run_status::ok ? ok : failed)++;
          if (json) fmt::print(json, "{}\n", to_json(r, missing));
        }
        fmt::print("{}\n", table_row(r));
        std::fflush(stdout);
      }
    }
  }
  for (auto& sys : systems) sys->finish();
  if (json) std::fclose(json);
  fmt::print("\n{} results ({} failed), {} not applicable, in {:.1f} s{}\n", ok + failed, failed, skipped,
             static_cast<double>(now_ns() - t_start) * 1e-9, interrupted ? " (interrupted)" : "");
  fmt::print("{}", legend(target_s));
  if (interrupted) return 130;
  return failed ? 1 : 0;
}
