// coipc.asio on its edge paths (review findings): every way to wait inherits the stall
// bound, close() leaves the channel, cancellation and close() during an attempt are never
// lost, the waiter outlives static io_contexts, any number of pending channels parks, and
// one receive plus one send may be pending at once on two threads.
#include <catch2/catch.hpp>

#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <variant>
#include <vector>

#include <unistd.h>

#include "support/processes.hpp"

import coipc;
import coipc_test_support;

using coipc_test::flag;
using coipc_test::hook_guard;
import coipc.asio;

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using steady = std::chrono::steady_clock;

namespace {

coipc::channel_options small_ring() {
  coipc::channel_options o;
  o.capacity = 4096;  // 64 units
  o.max_message_size = 1024;
  o.stall_timeout = 50ms;
  return o;
}


// Runs `f` as a coroutine on a fresh io_context until it finishes (rethrowing).
template <class F>
void run_coroutine(F f) {
  asio::io_context io;
  std::exception_ptr error;
  asio::co_spawn(io, f(io), [&](std::exception_ptr e) { error = e; });
  io.run();
  if (error) std::rethrow_exception(error);
}


}  // namespace

// ---- dead peers: the asynchronous calls get the blocking calls' bound --------------------

COIPC_CHILD(async_edges_claim_and_hang) {
  // args: name. Loans (claims) and hangs until killed.
  coipc::channel<coipc::bytes> tx(args[0], coipc::role::sender, small_ring());
  if (!tx.wait_for_receivers(1, 30s)) return 3;
  auto l = tx.loan(100);
  flag(args[0] + ".flag").raise(1);
  for (;;) ::pause();
}

COIPC_CHILD(async_edges_receive_and_hang) {
  // args: name. Connects as a receiver, reads nothing, hangs until killed.
  coipc::route<std::uint64_t> rx(args[0], coipc::role::receiver, small_ring());
  flag(args[0] + ".flag").raise(1);
  for (;;) ::pause();
}

TEST_CASE("async recv behind a dead sender's claim completes within the stall bound") {
  std::string name = coipc_test::unique_name("asyncdeadtx");
  coipc_test::cleanup c{name}, cf{name + ".flag"};
  flag claimed(name + ".flag");
  std::optional<std::string> got;
  std::chrono::nanoseconds took{};
  run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
    coipc::async_channel<coipc::bytes> rx(io.get_executor(), name, coipc::role::receiver, small_ring());
    auto victim = coipc_test::spawn("async_edges_claim_and_hang", {name});
    if (!claimed.wait_for(1, 30s)) co_return;
    coipc::channel<coipc::bytes> tx(name, coipc::role::sender, small_ring());
    tx.send("after the dead claim");
    victim.kill9();
    victim.wait();
    const auto t0 = steady::now();
    asio::steady_timer timer(io, 3s);
    auto r = co_await (rx.recv() || timer.async_wait(asio::use_awaitable));
    took = steady::now() - t0;
    if (r.index() == 0) got = std::string(std::get<0>(r).text());
  });
  REQUIRE(got.has_value());  // not the 3 s timer
  CHECK(*got == "after the dead claim");
  CHECK(took < 1s);  // stall_timeout is 50 ms
}

COIPC_CHILD(async_edges_dies_before_its_wake) {
  // args: name. Once the waiter thread of a receiver is parked, publishes one message and
  // dies before waking it.
  coipc::channel<coipc::bytes> tx(args[0], coipc::role::sender, small_ring());
  if (!tx.wait_for_receivers(1, 30s)) return 3;
  const auto deadline = steady::now() + 30s;
  while (tx.stats().futex_waits == 0) {
    if (steady::now() > deadline) return 4;
    std::this_thread::sleep_for(1ms);
  }
  hook_guard hook(+[](coipc::detail::fault::point p) {
    if (p == coipc::detail::fault::point::after_publish) ::raise(SIGKILL);
  });
  tx.send("the last word");
  return 1;  // not reached
}

TEST_CASE("async recv: a sender killed between publishing and its wake-up - the message still comes") {
  std::string name = coipc_test::unique_name("asyncnowake");
  coipc_test::cleanup c{name};
  std::optional<std::string> got;
  run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
    coipc::async_channel<coipc::bytes> rx(io.get_executor(), name, coipc::role::receiver, small_ring());
    auto sender = coipc_test::spawn("async_edges_dies_before_its_wake", {name});
    asio::steady_timer timer(io, 10s);  // the child's start, then a few stall timeouts
    auto r = co_await (rx.recv() || timer.async_wait(asio::use_awaitable));
    sender.wait();
    if (r.index() == 0) got = std::string(std::get<0>(r).text());
  });
  REQUIRE(got.has_value());  // not the 10 s timer
  CHECK(*got == "the last word");
}

TEST_CASE("async send behind a dead receiver completes within the stall bound") {
  std::string name = coipc_test::unique_name("asyncdeadrx");
  coipc_test::cleanup c{name}, cf{name + ".flag"};
  flag connected(name + ".flag");
  std::uint64_t sent = 0;
  std::chrono::nanoseconds took{};
  run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
    coipc::async_route<std::uint64_t> tx(io.get_executor(), name, coipc::role::sender, small_ring());
    auto victim = coipc_test::spawn("async_edges_receive_and_hang", {name});
    if (!connected.wait_for(1, 30s)) co_return;
    victim.kill9();
    victim.wait();
    // 64 messages fill the ring the dead receiver holds; the 65th needs it evicted.
    const auto t0 = steady::now();
    asio::steady_timer timer(io, 3s);
    auto r = co_await ([&]() -> asio::awaitable<void> {
      for (std::uint64_t i = 0; i < 100; ++i) {
        co_await tx.send(i);
        ++sent;
      }
    }() || timer.async_wait(asio::use_awaitable));
    took = steady::now() - t0;
    (void)r;
  });
  CHECK(sent == 100);
  CHECK(took < 1s);
}

// ---- close() leaves the channel -----------------------------------------------------------

TEST_CASE("async close() frees the receiver slot at once: block-policy senders go on") {
  std::string name = coipc_test::unique_name("asyncclose");
  coipc_test::cleanup c{name};
  asio::io_context io;
  coipc::route<std::uint64_t> tx(name, coipc::role::sender, small_ring());
  coipc::async_route<std::uint64_t> rx(io, name, coipc::role::receiver, small_ring());
  std::error_code pending_result;
  rx.async_recv([&](std::error_code ec, std::uint64_t) { pending_result = ec; });
  io.run_for(20ms);  // the operation is registered with the waiter
  const std::uint32_t before = tx.receiver_count();
  rx.close();
  const std::uint32_t after = tx.receiver_count();
  io.run();
  // 100 messages through a 64-message ring: only possible with the receiver gone.
  int sent = 0;
  std::error_code ec;
  for (std::uint64_t i = 0; i < 100 && tx.send_for(i, 2s, ec); ++i) ++sent;
  CHECK(before == 1);
  CHECK(after == 0);
  CHECK(pending_result == coipc::errc::closed);
  CHECK(sent == 100);
}

// ---- cancellation and close() during an attempt ---------------------------------------

namespace {
asio::cancellation_signal* signal_during_attempt = nullptr;
std::function<void()> close_during_attempt;
std::atomic<int> attempts_interposed{0};
void interpose_before_add(coipc::detail::fault::point p) {
  if (p != coipc::detail::fault::point::before_waiter_add) return;
  if (attempts_interposed.fetch_add(1) != 0) return;
  // The attempt found nothing and has not registered yet: cancel (or close) right now,
  // from the thread that runs the attempt (as another io thread could, at this instant).
  if (signal_during_attempt) signal_during_attempt->emit(asio::cancellation_type::terminal);
  if (close_during_attempt) close_during_attempt();
}
}  // namespace

TEST_CASE("a cancellation or close() that arrives during an attempt is not lost") {
  auto what = GENERATE(as<std::string>{}, "cancel", "close");
  INFO(what);
  std::string name = coipc_test::unique_name("cancelattempt");
  coipc_test::cleanup c{name};
  asio::io_context io;
  coipc::async_route<std::uint64_t> rx(io, name, coipc::role::receiver, small_ring());
  asio::cancellation_signal signal;
  attempts_interposed = 0;
  if (what == "cancel") signal_during_attempt = &signal;
  if (what == "close") close_during_attempt = [&] { rx.close(); };
  hook_guard hook(&interpose_before_add);
  std::optional<std::error_code> result;
  // A registration with the waiter, its sweep, its post back and the next attempt: the
  // hook fires on that attempt's way back to the waiter.
  rx.async_recv(asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, std::uint64_t) {
    result = ec;
  }));
  // The channel is idle: a lost cancellation would wait for a message that never comes.
  io.run_for(2s);
  signal_during_attempt = nullptr;
  close_during_attempt = nullptr;
  CHECK(attempts_interposed.load() >= 1);
  REQUIRE(result.has_value());
  if (what == "cancel") CHECK(*result == asio::error::operation_aborted);
  if (what == "close") CHECK(*result == coipc::errc::closed);
}

// ---- the waiter outlives io_contexts of static storage duration ----------------------------

namespace {
// Constructed before the waiter (which the child's first operation creates), so destroyed
// after it would be if the waiter were an ordinary static.
asio::io_context static_io;
}  // namespace

COIPC_CHILD(static_io_context_at_exit) {
  // args: name. Leaves an operation pending on a static io_context and returns from main.
  static std::optional<coipc::async_route<std::uint64_t>> rx;
  rx.emplace(static_io, args[0], coipc::role::receiver, small_ring());
  rx->async_recv([](std::error_code, std::uint64_t) {});
  static_io.run_for(20ms);
  return 0;  // static destructors run now: the io_context's shutdown calls the waiter
}

TEST_CASE("an io_context of static storage duration with pending operations exits cleanly") {
  std::string name = coipc_test::unique_name("staticio");
  coipc_test::cleanup c{name};
  auto child = coipc_test::spawn("static_io_context_at_exit", {name});
  CHECK(child.wait(30s) == 0);  // not 139 (SIGSEGV after main returned)
}

// ---- more pending channels than one futex_waitv takes ---------------------------------------

TEST_CASE("200 channels pending at once: the waiter parks (no polling) and wakes for any") {
  constexpr int channels = 200;
  const std::string base = coipc_test::unique_name("many");
  asio::io_context io;
  std::vector<std::unique_ptr<coipc::async_route<std::uint64_t>>> rx;
  std::vector<coipc_test::cleanup> cleanups;
  int completed = 0;
  std::uint64_t value = 0;
  auto o = small_ring();
  o.max_receivers = 1;
  for (int i = 0; i < channels; ++i) {
    const std::string name = base + "." + std::to_string(i);
    cleanups.push_back({name});
    rx.push_back(std::make_unique<coipc::async_route<std::uint64_t>>(io, name, coipc::role::receiver, o));
    rx.back()->async_recv([&](std::error_code ec, std::uint64_t v) {
      if (!ec) value = v;
      ++completed;
    });
  }
  io.run_for(100ms);  // all registered; the waiter's backoff is exhausted
  const auto parks_before = coipc::asio_waiter_stats().parks;
  io.run_for(500ms);  // idle
  const auto idle_parks = coipc::asio_waiter_stats().parks - parks_before;
  const auto threads = coipc::asio_waiter_stats().threads;
  // A message on the last channel registered (beyond the first thread's 127) wakes it.
  coipc::route<std::uint64_t> tx(base + "." + std::to_string(channels - 1), coipc::role::sender, o);
  tx.send(4242);
  const auto t0 = steady::now();
  while (completed == 0 && steady::now() - t0 < 2s) io.run_for(10ms);
  const auto woke_after = steady::now() - t0;
  for (auto& r : rx) r->close();
  io.run();
  CHECK(idle_parks < 20);  // polling in 1 ms slices parks ~500 times in 500 ms
  CHECK(threads >= 2);
  CHECK(value == 4242);
  CHECK(woke_after < 1s);
}

// ---- one receive and one send pending at once, on two threads ------------------------------

TEST_CASE("one receive and one send at once on one async channel - two io threads") {
  // The same async channel sends (to itself: it is also a receiver) from one coroutine and
  // receives in another, on an io_context run by two threads. ThreadSanitizer (tsan
  // preset) checks that nothing the two share is raced on.
  std::string name = coipc_test::unique_name("duplex");
  coipc_test::cleanup c{name};
  constexpr std::uint64_t n = 3000;
  asio::io_context io;
  coipc::async_channel<std::uint64_t> ch(io, name, coipc::role::both, small_ring());
  std::uint64_t received = 0, out_of_order = 0;
  std::atomic<int> failures{0};
  auto strand_a = asio::make_strand(io);
  auto strand_b = asio::make_strand(io);
  asio::co_spawn(strand_a, [&]() -> asio::awaitable<void> {
    for (std::uint64_t i = 0; i < n; ++i) co_await ch.send(i);
  }, [&](std::exception_ptr e) { if (e) ++failures; });
  asio::co_spawn(strand_b, [&]() -> asio::awaitable<void> {
    for (std::uint64_t i = 0; i < n; ++i) {
      if (co_await ch.recv() != i) ++out_of_order;
      ++received;
    }
  }, [&](std::exception_ptr e) { if (e) ++failures; });
  std::thread second([&] { io.run(); });
  io.run();
  second.join();
  CHECK(failures.load() == 0);
  CHECK(received == n);
  CHECK(out_of_order == 0);
}

// ---- waiting for receivers without blocking the io_context ---------------------------------

COIPC_CHILD(async_edges_late_receiver) {
  // args: name, delay_ms. Connects after a delay and stays a while.
  std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(args.at(1))));
  coipc::route<std::uint64_t> rx(args[0], coipc::role::receiver, small_ring());
  std::this_thread::sleep_for(500ms);
  return 0;
}

TEST_CASE("co_await wait_for_receivers(n): the io_context keeps running meanwhile") {
  std::string name = coipc_test::unique_name("asyncmembers");
  coipc_test::cleanup c{name};
  int ticks = 0;
  bool waited = false;
  std::chrono::nanoseconds took{};
  run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
    coipc::async_route<std::uint64_t> tx(io.get_executor(), name, coipc::role::sender, small_ring());
    co_await tx.wait_for_receivers(0);  // already true: completes at once
    auto a = coipc_test::spawn("async_edges_late_receiver", {name, "100"});
    auto b = coipc_test::spawn("async_edges_late_receiver", {name, "200"});
    // A ticker on the same thread: it runs while the wait is pending.
    asio::steady_timer tick(io);
    bool stop = false;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      while (!stop) {
        tick.expires_after(10ms);
        co_await tick.async_wait(asio::use_awaitable);
        ++ticks;
      }
    }, asio::detached);
    const auto t0 = steady::now();
    co_await tx.wait_for_receivers(2);
    took = steady::now() - t0;
    waited = tx.channel().receiver_count() >= 2;
    stop = true;
    a.wait(30s);
    b.wait(30s);
  });
  CHECK(waited);
  CHECK(ticks >= 5);  // the thread was not blocked for the ~200 ms wait
  CHECK(took < 5s);
}

// ---- the channel's spin policy counts for the waiter too -------------------------------------

TEST_CASE("the waiter spins with the pending channels' spin policy") {
  // A channel whose options say "yield for as long as it takes, never park": while an
  // operation on it is pending, the waiter must not park (the default policy parks
  // within microseconds). Once it is gone, the waiter parks again.
  std::string name = coipc_test::unique_name("spinpolicy");
  coipc_test::cleanup c{name};
  auto o = small_ring();
  o.spin = {2, 1u << 30};
  asio::io_context io;
  coipc::async_route<std::uint64_t> rx(io, name, coipc::role::receiver, o);
  std::optional<std::error_code> result;
  rx.async_recv([&](std::error_code ec, std::uint64_t) { result = ec; });
  io.run_for(20ms);  // registered
  const auto parks_before = coipc::asio_waiter_stats().parks;
  io.run_for(200ms);
  const auto parks_while_spinning = coipc::asio_waiter_stats().parks - parks_before;
  rx.close();
  io.run();
  CHECK(parks_while_spinning == 0);
  CHECK(result == coipc::errc::closed);
}
