#include "runner.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>
#include <vector>

namespace bench {

std::atomic<pid_t> current_runner{0};

namespace {

party make_party(const case_spec& spec, const size_table& sizes, shared_state& sh, std::uint32_t i) {
  party p{&spec, &sizes, &sh, party_role::sender, 0, spec.mode == run_mode::thread};
  if (spec.pattern == pattern::pingpong) {
    p.role = i == 0 ? party_role::ping : party_role::pong;
  } else if (i < spec.senders) {
    p.role = party_role::sender;
    p.index = i;
  } else {
    p.role = party_role::receiver;
    p.index = i - spec.senders;
  }
  return p;
}

void run_party(ipc_system& sys, party& p) noexcept {
  try {
    sys.run(p);
  } catch (const std::exception& e) {
    p.fail(e.what());
  } catch (...) {
    p.fail("unknown exception");
  }
}

void record_error(shared_state& sh, std::string_view what) noexcept {
  party_slot& s = sh.slots[0];
  if (s.error[0] == 0) {
    const std::size_t n = std::min(what.size(), sizeof(s.error) - 1);
    std::copy_n(what.data(), n, s.error);
    s.error[n] = 0;
  }
  sh.failed.store(1);
}

/// Waits until `word` reaches `target`; false when a party failed or `alive()` says one
/// is gone.
template <class Alive>
bool wait_count(shared_state& sh, std::atomic<std::uint32_t>& word, std::uint32_t target, Alive&& alive) {
  for (;;) {
    const std::uint32_t v = word.load(std::memory_order_acquire);
    if (v >= target) return true;
    if (sh.failed.load() || !alive()) return false;
    futex_wait(word, v, 20);
  }
}

/// The runner's part of the protocol: everyone ready, start, everyone done, finish.
/// In thread mode it also takes the process's CPU time between start and done.
template <class Alive>
bool coordinate(shared_state& sh, std::uint32_t parties, bool thread_mode, Alive&& alive) {
  if (!wait_count(sh, sh.ready, parties, alive)) return false;
  double cpu0 = 0;
  std::uint64_t vcsw0 = 0;
  if (thread_mode) process_usage(cpu0, vcsw0);
  sh.go.store(1, std::memory_order_release);
  futex_wake_all(sh.go);
  if (!wait_count(sh, sh.done, parties, alive)) return false;
  if (thread_mode) {
    double cpu1;
    std::uint64_t vcsw1;
    process_usage(cpu1, vcsw1);
    sh.runner_cpu_s = cpu1 - cpu0;
    sh.runner_vcsw = vcsw1 - vcsw0;
  }
  sh.finish.store(1, std::memory_order_release);
  futex_wake_all(sh.finish);
  return true;
}

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
  return fmt::format("exit status {}", WEXITSTATUS(status));
}

/// The runner process: set-up, parties, coordination. Returns its exit status.
int runner_main(ipc_system& sys, const case_spec& spec, const size_table& sizes, shared_state& sh,
                const std::string& prefix) {
  try {
    sys.setup(spec, prefix);
  } catch (const std::exception& e) {
    record_error(sh, fmt::format("set-up: {}", e.what()));
    return 3;
  }
  const std::uint32_t n = spec.parties();
  if (spec.mode == run_mode::process) {
    std::vector<pid_t> kids;
    for (std::uint32_t i = 0; i < n; ++i) {
      std::fflush(nullptr);  // else a child's exit() would write our buffered output again
      const pid_t pid = fork();
      if (pid < 0) {
        record_error(sh, "fork failed");
        break;
      }
      if (pid == 0) {
        party p = make_party(spec, sizes, sh, i);
        try {
          sys.process_init(prefix);
        } catch (const std::exception& e) {
          p.fail(e.what());
          std::exit(1);
        }
        run_party(sys, p);
        // exit(), not _exit(): a peer library may deregister in static destructors
        // (iceoryx's runtime tells RouDi it leaves).
        std::exit(sh.failed.load() ? 1 : 0);
      }
      kids.push_back(pid);
    }
    auto alive = [&] {
      int status;
      const pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) return true;
      std::erase(kids, pid);
      record_error(sh, fmt::format("a party's process ended early ({})", describe_exit(status)));
      return false;
    };
    const bool ok = kids.size() == n && coordinate(sh, n, false, alive);
    if (!ok)
      for (pid_t k : kids) kill(k, SIGKILL);
    int rc = ok ? 0 : 1;
    for (pid_t k : kids) {
      int status = 0;
      while (waitpid(k, &status, 0) < 0 && errno == EINTR) {
      }
      if (ok && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        record_error(sh, fmt::format("a party's process failed ({})", describe_exit(status)));
        rc = 1;
      }
    }
    return rc;
  }
  try {
    sys.process_init(prefix);
  } catch (const std::exception& e) {
    record_error(sh, e.what());
    return 1;
  }
  std::vector<std::thread> threads;
  std::vector<party> parties;
  parties.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) parties.push_back(make_party(spec, sizes, sh, i));
  for (std::uint32_t i = 0; i < n; ++i) threads.emplace_back([&sys, &parties, i] { run_party(sys, parties[i]); });
  if (!coordinate(sh, n, true, [] { return true; })) {
    // Threads blocked in a peer's receive cannot be cancelled: leave with them.
    std::fflush(nullptr);
    _exit(1);
  }
  for (auto& t : threads) t.join();
  return sh.failed.load() ? 1 : 0;
}

void compute(const case_spec& spec, const size_table& sizes, const shared_state& sh, measurement& m) {
  const std::uint32_t n = spec.parties();
  const bool pp = spec.pattern == pattern::pingpong;
  const std::uint32_t senders = pp ? 1 : spec.senders;
  const std::uint32_t first_rx = pp ? 0 : spec.senders;
  const std::uint32_t last_rx = pp ? 1 : n;  // ping is the one that times the round trips
  std::int64_t t0 = INT64_MAX, t1 = 0;
  for (std::uint32_t i = 0; i < senders; ++i) t0 = std::min(t0, sh.slots[i].first_send_ns);
  for (std::uint32_t i = first_rx; i < last_rx; ++i) t1 = std::max(t1, sh.slots[i].last_recv_ns);
  const double k = static_cast<double>(spec.messages);
  const double sent = pp ? 2 * k : k * spec.senders;  // messages put on the wire
  const double delivered = pp ? 2 * k : sent * spec.receivers;
  std::uint64_t received = 0, lost = 0, errors = 0;
  for (std::uint32_t i = first_rx; i < (pp ? 2 : n); ++i) {
    received += sh.slots[i].received;
    errors += sh.slots[i].errors;
  }
  const std::uint64_t expected = pp ? 2 * spec.messages : static_cast<std::uint64_t>(delivered);
  lost = expected > received + errors ? expected - received - errors : 0;
  m.lost = lost;
  m.errors = errors;
  std::uint64_t segment = 0, rss = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    segment = std::max(segment, sh.slots[i].segment_bytes);  // each party saw the same segments
    rss = std::max(rss, sh.slots[i].max_rss_kib);
  }
  if (segment) m.segment_bytes = segment;
  if (rss) m.max_rss_kib = rss;
  if (t1 <= t0 || t0 == INT64_MAX) return;
  const double secs = static_cast<double>(t1 - t0) * 1e-9;
  double bytes = 0;
  for (std::uint32_t s = 0; s < senders; ++s) bytes += static_cast<double>(sizes.bytes_of(s, spec.messages));
  bytes *= pp ? 2 : spec.receivers;
  m.run_s = secs;
  m.us_per_datum = secs * 1e6 / (pp ? 2 * k : k);
  m.msgs_per_s = sent / secs;
  m.deliveries_per_s = delivered / secs;
  m.gbytes_per_s = bytes / secs / 1e9;
  std::uint64_t futex = 0, vcsw = 0;
  bool has_futex = false;
  double cpu = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto& s = sh.slots[i];
    if (s.has_futex) {
      has_futex = true;
      futex = std::max(futex, s.futex_waits + s.futex_wakes);  // channel-wide counters
    }
    vcsw += s.vcsw;
    cpu += s.cpu_s;
  }
  if (spec.mode == run_mode::thread) {
    cpu = sh.runner_cpu_s;
    vcsw = sh.runner_vcsw;
  }
  if (has_futex) m.futex_calls_per_msg = static_cast<double>(futex) / sent;
  m.ctxsw_per_msg = static_cast<double>(vcsw) / sent;
  m.cpu_s = cpu;
  if (pp && sh.slots[0].has_latency) {
    m.p50_ns = sh.slots[0].lat_p50;
    m.p99_ns = sh.slots[0].lat_p99;
    m.p999_ns = sh.slots[0].lat_p999;
    m.max_ns = sh.slots[0].lat_max;
  }
}

}  // namespace

measurement run_case(ipc_system& sys, const case_spec& spec, const size_table& sizes, shared_state& sh,
                     const std::string& prefix, double timeout_s, const progress_fn& progress) {
  measurement m;
  sh.reset();
  std::fflush(nullptr);
  const pid_t runner = fork();
  if (runner < 0) {
    m.status = run_status::failed;
    m.error = "fork failed";
    return m;
  }
  if (runner == 0) {
    setpgid(0, 0);
    const int rc = runner_main(sys, spec, sizes, sh, prefix);
    std::fflush(nullptr);
    std::exit(rc);
  }
  current_runner.store(runner);
  setpgid(runner, runner);  // also here: the kill below must not race the child's own call
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, runner, 0));
  const std::int64_t deadline = now_ns() + static_cast<std::int64_t>(timeout_s * 1e9);
  const std::uint32_t parties = spec.parties();
  const std::uint32_t first_rx = spec.pattern == pattern::pingpong ? 0 : spec.senders;
  const std::uint32_t rx_count = spec.pattern == pattern::pingpong ? 1 : spec.receivers;
  const double total = static_cast<double>(spec.messages) *
                       (spec.pattern == pattern::pingpong ? 1 : double(spec.senders) * spec.receivers);
  bool timed_out = false;
  int status = 0;
  for (;;) {
    if (pidfd >= 0) {
      pollfd pfd{pidfd, POLLIN, 0};
      poll(&pfd, 1, 250);
    } else {
      usleep(10'000);
    }
    const pid_t r = waitpid(runner, &status, WNOHANG);
    if (r == runner) break;
    if (now_ns() > deadline) {
      kill(-runner, SIGKILL);
      kill(runner, SIGKILL);
      waitpid(runner, &status, 0);
      timed_out = true;
      break;
    }
    if (progress) {
      double got = 0;
      for (std::uint32_t i = first_rx; i < first_rx + rx_count; ++i)
        got += static_cast<double>(sh.slots[i].progress.load(std::memory_order_relaxed));
      progress(total > 0 ? got / total : 0);
    }
  }
  if (pidfd >= 0) close(pidfd);
  current_runner.store(0);
  // Whatever the runner left (a killed case's parties included) goes with its group.
  kill(-runner, SIGKILL);
  sys.cleanup(spec, prefix);

  std::string first_error;
  for (std::uint32_t i = 0; i < parties && first_error.empty(); ++i) first_error = sh.slots[i].error;
  if (timed_out) {
    m.status = run_status::timeout;
    m.error = fmt::format("no result within {:.0f} s", timeout_s);
    if (!first_error.empty()) m.error += "; " + first_error;
    std::uint64_t got = 0;
    for (std::uint32_t i = first_rx; i < first_rx + rx_count; ++i) got += sh.slots[i].progress.load();
    const auto expected = static_cast<std::uint64_t>(total);
    m.lost = expected > got ? expected - got : 0;
    return m;
  }
  if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) || sh.failed.load()) {
    m.status = run_status::failed;
    m.error = first_error.empty() ? "runner " + describe_exit(status) : first_error;
  }
  if (sh.done.load() == parties) compute(spec, sizes, sh, m);
  if (m.status == run_status::ok && m.lost && *m.lost) {
    m.status = run_status::failed;
    m.error = fmt::format("{} messages lost", *m.lost);
  }
  return m;
}

}  // namespace bench
