// stats_subscriber: an Asio service that co_awaits readings from the publisher and prints
// statistics: how many, the value range, and the latency from publication to resumption.
//
//   stats_subscriber [CHANNEL]
#include <algorithm>
#include <asio.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "reading.hpp"

import coipc;
import coipc.asio;

namespace {
std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

asio::awaitable<void> collect(coipc::async_route<telemetry::reading>& route) {
  std::vector<double> latency_us;
  double lo = 1e300, hi = -1e300, sum = 0;
  std::uint64_t expected = 0, gaps = 0;
  for (;;) {
    telemetry::reading r = co_await route.recv();
    latency_us.push_back(static_cast<double>(now_ns() - r.sent_ns) / 1000.0);
    if (r.seq != expected) ++gaps;
    expected = r.seq + 1;
    lo = std::min(lo, r.temperature_c);
    hi = std::max(hi, r.temperature_c);
    sum += r.temperature_c;
    if (r.last) break;
  }
  std::sort(latency_us.begin(), latency_us.end());
  auto pct = [&](double p) { return latency_us[static_cast<std::size_t>(p * (latency_us.size() - 1))]; };
  std::printf("stats_subscriber: %zu readings, %llu gaps, temperature %.2f..%.2f C (mean %.2f), "
              "latency send->resume p50 %.1f us, p99 %.1f us\n",
              latency_us.size(), static_cast<unsigned long long>(gaps), lo, hi,
              sum / static_cast<double>(latency_us.size()), pct(0.5), pct(0.99));
}
}  // namespace

int main(int argc, char** argv) try {
  const std::string channel = argc > 1 ? argv[1] : telemetry::default_channel;
  asio::io_context io;
  coipc::async_route<telemetry::reading> route(io, channel, coipc::role::receiver);
  std::printf("stats_subscriber: subscribed to '%s'\n", channel.c_str());
  std::fflush(stdout);
  asio::co_spawn(io, collect(route), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "stats_subscriber: %s\n", e.what());
  return 1;
}
