// coipc:platform — process identity and liveness, and cross-process parking on a futex.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <sys/mman.h>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "support/processes.hpp"

import coipc;

using namespace std::chrono_literals;
namespace platform = coipc::platform;

// Publishes its own process_id in the segment named args[0], then sleeps until killed.
COIPC_CHILD(report_identity_and_sleep) {
  std::error_code ec;
  auto seg = coipc::segment::inspect(args[0], ec);
  if (ec) return 2;
  auto* slot = reinterpret_cast<platform::process_id*>(seg.body().data() + 8);
  *slot = platform::this_process();
  reinterpret_cast<std::atomic<std::uint32_t>*>(seg.body().data())
      ->store(1, std::memory_order_release);  // SYNC POINT: identity published
  for (;;) ::pause();
}

TEST_CASE("process identity: alive - dead (even unreaped) and recycled pids") {
  auto me = platform::this_process();
  CHECK(me.pid == static_cast<std::uint32_t>(::getpid()));
  CHECK(me.start_time > 0);
  CHECK(platform::is_alive(me));
  CHECK_FALSE(platform::is_alive({}));

  std::string name = coipc_test::unique_name("ident");
  coipc::segment_geometry g;
  g.body_size = 4096;
  auto seg = coipc::segment::open(name, coipc::bytes_fingerprint(), g, {}, nullptr);
  auto child = coipc_test::spawn("report_identity_and_sleep", {name});
  auto* ready = reinterpret_cast<std::atomic<std::uint32_t>*>(seg.body().data());
  for (int i = 0; i < 10000 && ready->load(std::memory_order_acquire) == 0; ++i) {  // SYNC POINT: identity published
    std::this_thread::sleep_for(1ms);
  }
  REQUIRE(ready->load(std::memory_order_acquire) == 1);
  auto id = *reinterpret_cast<const platform::process_id*>(seg.body().data() + 8);
  CHECK(id.pid == static_cast<std::uint32_t>(child.pid()));
  CHECK(platform::is_alive(id));
  // The same pid with another start time is a different (recycled) process.
  CHECK_FALSE(platform::is_alive({id.pid, id.start_time + 1}));

  child.kill9();
  // Dead but not yet reaped (a zombie) already counts as dead.
  for (int i = 0; i < 5000 && platform::is_alive(id); ++i) std::this_thread::sleep_for(1ms);
  CHECK_FALSE(platform::is_alive(id));
  child.wait();
  CHECK_FALSE(platform::is_alive(id));
  coipc::remove_segment(name);
}

TEST_CASE("park_wait returns at once when the value moved - and times out") {
  std::atomic<std::uint32_t> word{5};
  CHECK(platform::park_wait(word, 4, 1s) == platform::park_result::value_changed);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(platform::park_wait(word, 5, 20ms) == platform::park_result::timed_out);
  CHECK(std::chrono::steady_clock::now() - t0 >= 15ms);
  CHECK(platform::park_wake(word, 1) == 0);  // nobody parked
}

COIPC_CHILD(futex_waker) {
  // Shares an anonymous MAP_SHARED page with its parent only across fork, so this child
  // works on a named segment instead: args[0] is its name.
  std::error_code ec;
  auto seg = coipc::segment::inspect(args[0], ec);
  if (ec) return 2;
  auto* word = reinterpret_cast<std::atomic<std::uint32_t>*>(seg.body().data());
  std::this_thread::sleep_for(50ms);
  word->store(1, std::memory_order_release);  // SYNC POINT: futex test word
  return platform::park_wake(*word, 1) == 1 ? 0 : 3;
}

TEST_CASE("a process parked on a shared futex word is woken by another process") {
  std::string name = coipc_test::unique_name("futex");
  coipc::segment_geometry g;
  g.body_size = 4096;
  std::error_code ec;
  auto seg = coipc::segment::open(name, coipc::bytes_fingerprint(), g, {}, nullptr, ec);
  REQUIRE_FALSE(ec);
  auto* word = reinterpret_cast<std::atomic<std::uint32_t>*>(seg.body().data());
  auto child = coipc_test::spawn("futex_waker", {name});
  auto t0 = std::chrono::steady_clock::now();
  while (word->load(std::memory_order_acquire) == 0) {  // SYNC POINT: futex test word
    platform::park_wait(*word, 0, 10s);
  }
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK(child.wait() == 0);
  coipc::remove_segment(name);
}

TEST_CASE("park_wait_any wakes on any of several words") {
  std::atomic<std::uint32_t> a{0}, b{0};
  platform::park_target targets[] = {{&a, 0}, {&b, 0}};
  std::thread t([&] {
    std::this_thread::sleep_for(30ms);
    b.store(1, std::memory_order_release);
    platform::park_wake(b, 1);
  });
  auto t0 = std::chrono::steady_clock::now();
  while (b.load(std::memory_order_acquire) == 0) {
    platform::park_wait_any(targets, 5s, 5ms);
  }
  t.join();
  CHECK(std::chrono::steady_clock::now() - t0 < 4s);
  // Values that already differ return at once.
  platform::park_target moved[] = {{&a, 0}, {&b, 0}};
  CHECK(platform::park_wait_any(moved, 5s, 5ms) != platform::park_result::timed_out);
}

TEST_CASE("unknown is not dead: a live process whose /proc cannot be read is alive") {
  // Out of file descriptors, /proc/<pid>/stat cannot be opened. That says nothing about
  // the process: it must not be declared dead (peers would evict a live receiver).
  const platform::process_id me = platform::this_process();
  REQUIRE(me.start_time > 0);
  rlimit old_limit{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &old_limit) == 0);
  rlimit low = old_limit;
  low.rlim_cur = 256;  // so that running out takes a few hundred dup() calls
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  std::vector<int> fds;
  for (;;) {
    int fd = ::dup(0);
    if (fd < 0) break;
    fds.push_back(fd);
  }
  const bool alive_without_fds = platform::is_alive(me);
  const auto me_without_fds = platform::this_process();
  for (int fd : fds) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &old_limit);
  CHECK(alive_without_fds);
  // Its own identity cannot be proven then: reported as start time 0 (and refused by
  // endpoints), never as a made-up identity that peers would judge "restarted".
  CHECK(me_without_fds.start_time == 0);
}
