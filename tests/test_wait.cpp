// The wait layer on its own, below any channel: the ladder every blocking call climbs
// (wait_ladder), and one park/wake cell (park_once, notify_parked). The cells live in this
// process's memory: the futex calls work on any word.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <thread>

import coipc;

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using coipc::detail::futex_counters;
using coipc::detail::wait_cell;
using coipc::detail::wait_ladder;
using coipc::detail::wait_mode;
using verdict = coipc::detail::wait_ladder::verdict;

namespace {

// No spinning: every miss goes straight to the try, deadline and park steps.
constexpr coipc::spin_policy no_spin{0, 0};

struct cell_and_counters {
  wait_cell cell{};
  futex_counters counters{};
};

}  // namespace

TEST_CASE("wait ladder: a try gives up at once and never parks") {
  cell_and_counters c;
  std::optional<steady::time_point> stall_at;
  wait_ladder ladder(wait_mode::try_once(), no_spin, 10ms, stall_at, 10ms);
  CHECK(ladder.after_miss(false, [] {}, c.cell, c.counters, [] { return false; }) == verdict::would_block);
  CHECK(c.counters.waits.load() == 0);
  CHECK_FALSE(stall_at.has_value());  // nothing held it: no stall clock
}

TEST_CASE("wait ladder: a timed wait parks and gives up at its deadline") {
  cell_and_counters c;
  std::optional<steady::time_point> stall_at;
  const auto t0 = steady::now();
  wait_ladder ladder(wait_mode::for_duration(30ms), no_spin, 1s, stall_at, std::nullopt);
  verdict v = verdict::retry;
  int misses = 0;
  while ((v = ladder.after_miss(false, [] {}, c.cell, c.counters, [] { return false; })) == verdict::retry) ++misses;
  CHECK(v == verdict::timed_out);
  CHECK(steady::now() - t0 >= 30ms);
  CHECK(c.counters.waits.load() >= 1);  // it slept, it did not spin through the 30 ms
  CHECK(misses < 10);
}

TEST_CASE("wait ladder: a stall check runs once the stall clock expires - never twice in a row") {
  cell_and_counters c;
  std::optional<steady::time_point> stall_at;
  int checks = 0;
  auto check = [&] { ++checks; };
  auto never = [] { return false; };
  {
    // Try calls polled in turn (as coipc.asio does) share the endpoint's stall clock.
    wait_ladder first(wait_mode::try_once(), no_spin, 20ms, stall_at, std::nullopt);
    CHECK(first.after_miss(true, check, c.cell, c.counters, never) == verdict::would_block);
    REQUIRE(stall_at.has_value());  // the clock started
  }
  CHECK(checks == 0);
  std::this_thread::sleep_for(25ms);
  wait_ladder later(wait_mode::try_once(), no_spin, 20ms, stall_at, std::nullopt);
  // Past the stall timeout: the check runs, and the caller looks once more...
  CHECK(later.after_miss(true, check, c.cell, c.counters, never) == verdict::retry);
  CHECK(checks == 1);
  // ...and the try test comes before any second check, however long the first took.
  CHECK(later.after_miss(true, check, c.cell, c.counters, never) == verdict::would_block);
  CHECK(checks == 1);
  CHECK(*stall_at > steady::now());  // the clock restarted
}

TEST_CASE("wait ladder: with nothing holding it a blocking wait looks again within idle_look_again") {
  // A receiver parked on an empty ring must look again by itself: a sender killed between
  // publishing and its wake-up announces nothing.
  cell_and_counters c;
  std::optional<steady::time_point> stall_at;
  // A 3 s deadline stands for "for ever": without the bound, the park would last it out.
  wait_ladder ladder(wait_mode::for_duration(3s), no_spin, 1s, stall_at, 20ms);
  const auto t0 = steady::now();
  CHECK(ladder.after_miss(false, [] {}, c.cell, c.counters, [] { return false; }) == verdict::retry);
  const auto took = steady::now() - t0;
  CHECK(c.counters.waits.load() == 1);  // it parked, and came back without a wake
  CHECK(took >= 20ms);
  CHECK(took < 2s);  // the 20 ms bound, not the deadline (the margin is for a loaded machine)
}

TEST_CASE("park and wake: a notify wakes a parked waiter - and makes no futex call when nobody parks") {
  cell_and_counters c;
  coipc::detail::notify_parked(c.cell, c.counters);
  CHECK(c.counters.wakes.load() == 0);  // nobody announced: no syscall

  std::atomic<bool> condition{false};
  std::atomic<bool> woke{false};
  std::thread waiter([&] {
    // Until the condition holds: a return says nothing by itself (the protocol's callers loop).
    while (!condition.load(std::memory_order_acquire)) {
      coipc::detail::park_once(c.cell, c.counters, [&] { return condition.load(std::memory_order_acquire); },
                               std::nullopt);
    }
    woke.store(true, std::memory_order_release);
  });
  // Wait until the waiter is inside futex_wait, so that the notify must wake it.
  const auto deadline = steady::now() + 30s;
  while (c.cell.parked.load() == 0 && steady::now() < deadline) std::this_thread::sleep_for(1ms);
  const bool was_parked = c.cell.parked.load() == 1;
  condition.store(true, std::memory_order_release);
  coipc::detail::notify_parked(c.cell, c.counters);
  waiter.join();
  CHECK(was_parked);
  CHECK(woke.load());
  CHECK(c.counters.wakes.load() == 1);
}
