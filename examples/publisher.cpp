// publisher: an Asio service that publishes sensor readings on a coipc route at a steady
// rate, from a coroutine paced by a timer.
//
//   publisher [CHANNEL] [COUNT] [HZ] [SUBSCRIBERS]
//
// Waits until SUBSCRIBERS subscribers are connected (so that they see every reading),
// publishes COUNT readings at HZ, the last one flagged, and exits.
#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>

#include "reading.hpp"

import coipc;
import coipc.asio;

namespace {
std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

asio::awaitable<void> publish(coipc::async_route<telemetry::reading>& route, std::uint64_t count,
                              double hz, std::uint32_t subscribers) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  // Wait for the subscribers without blocking the io_context's thread, 30 s at most.
  timer.expires_after(std::chrono::seconds(30));
  if ((co_await (route.wait_for_receivers(subscribers) || timer.async_wait(asio::use_awaitable))).index() != 0) {
    throw std::runtime_error("subscribers did not connect within 30 s");
  }
  const auto period = std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / hz));
  auto next = std::chrono::steady_clock::now();
  for (std::uint64_t seq = 0; seq < count; ++seq) {
    telemetry::reading r{};
    r.seq = seq;
    r.sensor_id = 7;
    r.temperature_c = 21.0 + 2.0 * std::sin(static_cast<double>(seq) / 20.0);
    r.last = seq + 1 == count;
    r.sent_ns = now_ns();
    co_await route.send(r);  // suspends only if a subscriber is a whole ring behind
    next += period;
    timer.expires_at(next);
    co_await timer.async_wait(asio::use_awaitable);
  }
  std::printf("publisher: published %llu readings at %.0f Hz\n",
              static_cast<unsigned long long>(count), hz);
}
}  // namespace

int main(int argc, char** argv) try {
  const std::string channel = argc > 1 ? argv[1] : telemetry::default_channel;
  const std::uint64_t count = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 200;
  const double hz = argc > 3 ? std::atof(argv[3]) : 100.0;
  const auto subscribers = static_cast<std::uint32_t>(argc > 4 ? std::atoi(argv[4]) : 1);

  asio::io_context io;
  coipc::async_route<telemetry::reading> route(io, channel, coipc::role::sender);
  std::printf("publisher: waiting for %u subscriber(s) on '%s'\n", subscribers, channel.c_str());
  std::fflush(stdout);
  asio::co_spawn(io, publish(route, count, hz, subscribers), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "publisher: %s\n", e.what());
  return 1;
}
