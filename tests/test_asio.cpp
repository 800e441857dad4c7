// coipc.asio: co_await recv/send across processes, completion tokens, the fast path,
// cancellation, awaitable operators, close, io_context destruction, scale, fallback.
#include <catch2/catch.hpp>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/experimental/deferred.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <span>
#include <string_view>
#include <string>
#include <system_error>
#include <thread>
#include <variant>
#include <vector>

#include "support/processes.hpp"

import coipc;
import coipc_test_support;
import coipc.asio;

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

namespace {


coipc::channel_options small_ring() {
  coipc::channel_options o;
  o.capacity = 4096;
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

COIPC_CHILD(sequence_sender) {
  // args: name, count, delay_us between messages, receivers to wait for.
  coipc::route<std::uint64_t> tx(args[0], coipc::role::sender, small_ring());
  if (!tx.wait_for_receivers(static_cast<std::uint32_t>(std::stoul(args.at(3))), 30s)) return 3;
  const std::uint64_t n = std::stoull(args[1]);
  const auto delay = std::chrono::microseconds(std::stoll(args[2]));
  for (std::uint64_t i = 0; i < n; ++i) {
    tx.send(i);
    if (delay.count()) std::this_thread::sleep_for(delay);
  }
  return 0;
}

COIPC_CHILD(sequence_receiver) {
  // args: name, count. Receives 0..count-1 in order, slowly at first.
  coipc::route<std::uint64_t> rx(args[0], coipc::role::receiver, small_ring());
  const std::uint64_t n = std::stoull(args[1]);
  for (std::uint64_t i = 0; i < n; ++i) {
    if (i < 200) std::this_thread::sleep_for(200us);  // let the ring fill: the sender suspends
    if (rx.recv() != i) return 4;
  }
  return 0;
}

TEST_CASE("co_await recv: messages from another process - in order") {
  std::string name = coipc_test::unique_name("aw");
  coipc_test::cleanup c{name};
  constexpr std::uint64_t n = 20000;
  run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
    coipc::async_route<std::uint64_t> rx(io.get_executor(), name, coipc::role::receiver, small_ring());
    auto child = coipc_test::spawn("sequence_sender", {name, std::to_string(n), "0", "1"});
    for (std::uint64_t i = 0; i < n; ++i) {
      std::uint64_t v = co_await rx.recv();
      if (v != i) throw std::runtime_error("out of order");
    }
    CHECK(child.wait(30s) == 0);
  });
}

TEST_CASE("co_await recv: a parked waiter is woken - sporadic messages") {
  std::string name = coipc_test::unique_name("awpark");
  coipc_test::cleanup c{name};
  run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
    coipc::async_route<std::uint64_t> rx(io.get_executor(), name, coipc::role::receiver, small_ring());
    auto parks_before = coipc::asio_waiter_stats().parks;
    auto child = coipc_test::spawn("sequence_sender", {name, "50", "2000", "1"});
    for (std::uint64_t i = 0; i < 50; ++i) CHECK(co_await rx.recv() == i);
    CHECK(child.wait(30s) == 0);
    // 2 ms between messages: the waiter thread really parked and was woken.
    CHECK(coipc::asio_waiter_stats().parks > parks_before);
  });
}

TEST_CASE("co_await send suspends while the ring is full - nothing lost") {
  std::string name = coipc_test::unique_name("awsend");
  coipc_test::cleanup c{name};
  constexpr std::uint64_t n = 5000;
  run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
    coipc::async_route<std::uint64_t> tx(io.get_executor(), name, coipc::role::sender, small_ring());
    auto child = coipc_test::spawn("sequence_receiver", {name, std::to_string(n)});
    REQUIRE(tx.channel().wait_for_receivers(1, 30s));
    for (std::uint64_t i = 0; i < n; ++i) co_await tx.send(i);
    CHECK(child.wait(30s) == 0);
  });
}

TEST_CASE("fast path: a waiting message is returned without parking or the waiter") {
  std::string name = coipc_test::unique_name("fast");
  coipc_test::cleanup c{name};
  coipc::route<std::uint64_t> tx(name, coipc::role::sender);
  run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
    coipc::async_route<std::uint64_t> rx(io.get_executor(), name, coipc::role::receiver);
    for (std::uint64_t i = 0; i < 100; ++i) tx.send(i);
    auto registrations = coipc::asio_waiter_stats().registrations;
    auto waits = rx.channel().stats().futex_waits;
    auto thread = std::this_thread::get_id();
    for (std::uint64_t i = 0; i < 100; ++i) CHECK(co_await rx.recv() == i);
    CHECK(std::this_thread::get_id() == thread);
    // Never handed to the waiter thread, never parked.
    CHECK(coipc::asio_waiter_stats().registrations == registrations);
    CHECK(rx.channel().stats().futex_waits == waits);
  });
}

TEST_CASE("completion tokens: callback - use_future - deferred - as_tuple") {
  std::string name = coipc_test::unique_name("tokens");
  coipc_test::cleanup c{name};
  asio::io_context io;
  coipc::async_channel<coipc::bytes> rx(io, name, coipc::role::receiver);
  coipc::async_channel<coipc::bytes> tx(io, name, coipc::role::sender);

  // A callback: never invoked inline from the initiating function.
  bool called = false;
  std::string got;
  tx.channel().send("one");
  rx.async_recv([&](std::error_code ec, coipc::message m) {
    CHECK_FALSE(ec);
    got = std::string(m.text());
    called = true;
  });
  CHECK_FALSE(called);
  io.run();
  io.restart();
  CHECK(called);
  CHECK(got == "one");

  // use_future, with the io_context on another thread.
  auto guard = asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  std::future<coipc::message> f = rx.async_recv(asio::use_future);
  tx.channel().send("two");
  CHECK(f.get().text() == "two");
  std::future<void> sent = tx.async_send(std::as_bytes(std::span(std::string_view("three"))), asio::use_future);
  sent.get();
  CHECK(rx.async_recv(asio::use_future).get().text() == "three");
  guard.reset();
  runner.join();
  io.restart();

  // experimental::deferred, launched later; and as_tuple(use_awaitable).
  tx.channel().send("four");
  auto op = rx.async_recv(asio::experimental::deferred);
  std::string deferred_got;
  std::move(op)([&](std::error_code ec, coipc::message m) {
    CHECK_FALSE(ec);
    deferred_got = std::string(m.text());
  });
  io.run();
  io.restart();
  CHECK(deferred_got == "four");

  tx.channel().send("five");
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    auto [ec, m] = co_await rx.async_recv(asio::experimental::as_tuple(asio::use_awaitable));
    CHECK_FALSE(ec);
    CHECK(m.text() == "five");
  }, asio::detached);
  io.run();
}

TEST_CASE("per-operation cancellation: operation_aborted and no message consumed") {
  std::string name = coipc_test::unique_name("cancel");
  coipc_test::cleanup c{name};
  asio::io_context io;
  coipc::async_route<std::uint64_t> rx(io, name, coipc::role::receiver);
  coipc::route<std::uint64_t> tx(name, coipc::role::sender);
  asio::cancellation_signal signal;
  std::error_code result;
  bool done = false;
  rx.async_recv(asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, std::uint64_t) {
    result = ec;
    done = true;
  }));
  // Let the operation reach the waiter, then cancel it from the io_context's thread.
  asio::steady_timer t(io, 20ms);
  t.async_wait([&](std::error_code) { signal.emit(asio::cancellation_type::terminal); });
  io.run();
  io.restart();
  CHECK(done);
  CHECK(result == asio::error::operation_aborted);
  // The next message goes to the next recv: the cancelled one consumed nothing.
  tx.send(42);
  std::uint64_t v = 0;
  rx.async_recv([&](std::error_code ec, std::uint64_t x) {
    CHECK_FALSE(ec);
    v = x;
  });
  io.run();
  CHECK(v == 42);
}

TEST_CASE("co_await (recv || timer): timeouts lose no message") {
  std::string name = coipc_test::unique_name("race");
  coipc_test::cleanup c{name};
  constexpr std::uint64_t n = 300;
  run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
    coipc::async_route<std::uint64_t> rx(io.get_executor(), name, coipc::role::receiver, small_ring());
    auto child = coipc_test::spawn("sequence_sender", {name, std::to_string(n), "300", "1"});
    asio::steady_timer timer(io);
    std::uint64_t next = 0, timeouts = 0;
    while (next < n) {
      timer.expires_after(200us);
      auto r = co_await (rx.recv() || timer.async_wait(asio::use_awaitable));
      if (r.index() == 0) {
        std::uint64_t v = std::get<0>(r);
        if (v != next) throw std::runtime_error("lost or reordered: got " + std::to_string(v) + " expected " + std::to_string(next));
        ++next;
      } else {
        ++timeouts;
      }
    }
    CHECK(timeouts > 0);  // the race was exercised
    CHECK(child.wait(30s) == 0);
  });
}

TEST_CASE("close() completes pending operations with errc::closed") {
  std::string name = coipc_test::unique_name("close");
  coipc_test::cleanup c{name};
  asio::io_context io;
  coipc::async_route<std::uint64_t> rx(io, name, coipc::role::receiver);
  std::error_code result;
  rx.async_recv([&](std::error_code ec, std::uint64_t) { result = ec; });
  asio::steady_timer t(io, 20ms);
  t.async_wait([&](std::error_code) { rx.close(); });
  io.run();
  CHECK(result == coipc::errc::closed);
  // In a coroutine the error is a std::system_error.
  io.restart();
  bool threw = false;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    try {
      co_await rx.recv();
    } catch (const std::system_error& e) {
      threw = e.code() == coipc::errc::closed;
    }
  }, asio::detached);
  io.run();
  CHECK(threw);
}

TEST_CASE("destroying an io_context with operations pending neither crashes nor leaks") {
  std::string name = coipc_test::unique_name("destroy");
  coipc_test::cleanup c{name};
  bool invoked = false;
  {
    auto io = std::make_unique<asio::io_context>();
    coipc::async_route<std::uint64_t> rx(*io, name, coipc::role::receiver);
    coipc::async_route<std::uint64_t> rx2(*io, name, coipc::role::receiver);
    rx.async_recv([&](std::error_code, std::uint64_t) { invoked = true; });
    asio::co_spawn(*io, [&]() -> asio::awaitable<void> { co_await rx2.recv(); invoked = true; }, asio::detached);
    io->run_for(20ms);
    io.reset();  // destroyed while both wait
  }
  CHECK_FALSE(invoked);
  // The waiter carries on for other contexts.
  coipc::route<std::uint64_t> tx(name, coipc::role::sender);
  asio::io_context io;
  coipc::async_route<std::uint64_t> rx(io, name, coipc::role::receiver);
  std::uint64_t v = 0;
  rx.async_recv([&](std::error_code, std::uint64_t x) { v = x; });
  tx.send(7);
  io.run();
  CHECK(v == 7);
}

TEST_CASE("scale: several channels - many coroutines - threads and io_contexts") {
  constexpr int channels = 3, receivers_per_channel = 4;
  constexpr std::uint64_t n = 2000;
  std::vector<std::string> names;
  std::vector<coipc_test::cleanup> cleanups;
  for (int i = 0; i < channels; ++i) {
    names.push_back(coipc_test::unique_name("scale"));
    cleanups.push_back({names.back()});
  }
  asio::io_context io1, io2;
  std::atomic<int> finished{0}, failed{0};  // counted on the io threads, checked after join
  std::vector<std::unique_ptr<coipc::async_route<std::uint64_t>>> rxs;
  for (int c = 0; c < channels; ++c) {
    for (int r = 0; r < receivers_per_channel; ++r) {
      asio::io_context& io = (r % 2) ? io2 : io1;
      rxs.push_back(std::make_unique<coipc::async_route<std::uint64_t>>(io, names[c], coipc::role::receiver, small_ring()));
      auto* rx = rxs.back().get();
      asio::co_spawn(io, [rx, &finished]() -> asio::awaitable<void> {
        for (std::uint64_t i = 0; i < n; ++i) {
          if (co_await rx->recv() != i) throw std::runtime_error("out of order");
        }
        ++finished;
      }, [&failed](std::exception_ptr e) { if (e) ++failed; });
    }
  }
  std::vector<coipc_test::child_process> senders;
  for (int c = 0; c < channels; ++c) {
    senders.push_back(coipc_test::spawn("sequence_sender", {names[c], std::to_string(n), "0", std::to_string(receivers_per_channel)}));
  }
  // io1 on two threads, io2 on a third.
  std::thread a([&] { io1.run(); }), b([&] { io1.run(); }), d([&] { io2.run(); });
  a.join();
  b.join();
  d.join();
  CHECK(failed == 0);
  CHECK(finished == channels * receivers_per_channel);
  for (auto& s : senders) CHECK(s.wait(30s) == 0);
}

TEST_CASE("the waiter works without futex_waitv (older kernels)") {
  coipc::platform::force_wait_any_fallback(true);
  std::string name = coipc_test::unique_name("fallback");
  coipc_test::cleanup c{name};
  run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
    coipc::async_route<std::uint64_t> rx(io.get_executor(), name, coipc::role::receiver, small_ring());
    auto child = coipc_test::spawn("sequence_sender", {name, "30", "2000", "1"});
    for (std::uint64_t i = 0; i < 30; ++i) CHECK(co_await rx.recv() == i);
    CHECK(child.wait(30s) == 0);
  });
  coipc::platform::force_wait_any_fallback(false);
}
