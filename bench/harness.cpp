#include "harness.hpp"

#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <new>
#include <system_error>

namespace bench {

std::int64_t now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

shared_state* shared_state::create() {
  void* p = mmap(nullptr, sizeof(shared_state), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap shared state");
  auto* s = new (p) shared_state;
  s->reset();
  return s;
}

void shared_state::reset() noexcept {
  ready.store(0);
  go.store(0);
  done.store(0);
  finish.store(0);
  failed.store(0);
  runner_cpu_s = 0;
  runner_vcsw = 0;
  for (auto& s : slots) {
    s.progress.store(0);
    s.first_send_ns = s.last_recv_ns = 0;
    s.received = s.lost = s.errors = 0;
    s.cpu_s = 0;
    s.vcsw = 0;
    s.has_futex = s.has_latency = false;
    s.futex_waits = s.futex_wakes = 0;
    s.lat_p50 = s.lat_p99 = s.lat_p999 = s.lat_max = s.lat_mean = 0;
    s.segment_bytes = 0;
    s.max_rss_kib = 0;
    s.error[0] = 0;
  }
}

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, int timeout_ms) noexcept {
  timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000L};
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, expected, &ts, nullptr, 0);
}

void futex_wake_all(std::atomic<std::uint32_t>& word) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0);
}

void process_usage(double& cpu_s, std::uint64_t& vcsw) noexcept {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
  vcsw = static_cast<std::uint64_t>(ru.ru_nvcsw);
}

std::uint64_t proc_status_kib(std::string_view field) noexcept {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  std::uint64_t kib = 0;
  while (std::fgets(line, sizeof line, f)) {
    const std::string_view l(line);
    if (!l.starts_with(field) || l.size() <= field.size() || l[field.size()] != ':') continue;
    std::size_t i = field.size() + 1;
    while (i < l.size() && (l[i] == ' ' || l[i] == '\t')) ++i;
    std::from_chars(l.data() + i, l.data() + l.size(), kib);  // "1234 kB": the unit is KiB
    break;
  }
  std::fclose(f);
  return kib;
}

std::uint64_t file_bytes(const char* path) noexcept {
  struct stat st{};
  if (::stat(path, &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.st_size);
}

party_slot& party::slot() const noexcept {
  switch (role) {
    case party_role::sender: return shared->slots[index];
    case party_role::receiver: return shared->slots[spec->senders + index];
    case party_role::ping: return shared->slots[0];
    case party_role::pong: return shared->slots[1];
  }
  return shared->slots[0];
}

void party::ready() {
  if (!in_thread) process_usage(cpu_at_ready, vcsw_at_ready);
  shared->ready.fetch_add(1);
  futex_wake_all(shared->ready);
}

void party::wait_go() const {
  // Timed waits: a runner that died must not leave this party asleep for ever (the main
  // process kills the case's process group on its timeout anyway).
  while (shared->go.load(std::memory_order_acquire) == 0) futex_wait(shared->go, 0, 100);
}

void party::finish() {
  if (!in_thread) {
    double cpu;
    std::uint64_t vcsw;
    process_usage(cpu, vcsw);
    slot().cpu_s = cpu - cpu_at_ready;
    slot().vcsw = vcsw - vcsw_at_ready;
  }
  // The peak so far, set-up and loop included (teardown does not grow it). In thread mode
  // every party reads the same process: the runner with all of them.
  slot().max_rss_kib = proc_status_kib("VmHWM");
  shared->done.fetch_add(1);
  futex_wake_all(shared->done);
  while (shared->finish.load(std::memory_order_acquire) == 0) futex_wait(shared->finish, 0, 100);
}

void party::fail(std::string_view what) noexcept {
  auto& s = slot();
  if (s.error[0] == 0) {
    const std::size_t n = std::min(what.size(), sizeof(s.error) - 1);
    std::memcpy(s.error, what.data(), n);
    s.error[n] = 0;
  }
  shared->failed.store(1);
  futex_wake_all(shared->ready);
  futex_wake_all(shared->done);
}

}  // namespace bench
