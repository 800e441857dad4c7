// tcp_latest: an Asio service that subscribes to the readings and serves the latest one to
// TCP clients: each client that connects gets one line with the newest reading.
//
//   tcp_latest [CHANNEL] [PORT]
//
// Two coroutines on one io_context: one co_awaits readings from coipc, one accepts TCP
// connections (127.0.0.1:PORT). When the publisher's last reading arrives, both stop.
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "reading.hpp"

import coipc;
import coipc.asio;

namespace {
struct latest_value {
  std::optional<telemetry::reading> reading;
  std::uint64_t served = 0;
};

std::string format(const std::optional<telemetry::reading>& r) {
  if (!r) return "no reading yet\n";
  char line[128];
  std::snprintf(line, sizeof line, "reading %llu: sensor %u at %.2f C\n",
                static_cast<unsigned long long>(r->seq), r->sensor_id, r->temperature_c);
  return line;
}

asio::awaitable<void> follow(coipc::async_route<telemetry::reading>& route, latest_value& latest,
                             asio::ip::tcp::acceptor& acceptor) {
  for (;;) {
    latest.reading = co_await route.recv();
    if (latest.reading->last) break;
  }
  acceptor.close();  // ends serve()
}

asio::awaitable<void> serve(asio::ip::tcp::acceptor& acceptor, latest_value& latest) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::experimental::as_tuple(asio::use_awaitable));
    if (ec) break;  // closed by follow()
    std::string line = format(latest.reading);
    co_await asio::async_write(socket, asio::buffer(line), asio::use_awaitable);
    ++latest.served;
  }
}
}  // namespace

int main(int argc, char** argv) try {
  const std::string channel = argc > 1 ? argv[1] : telemetry::default_channel;
  const auto port = static_cast<unsigned short>(argc > 2 ? std::atoi(argv[2]) : 9750);
  asio::io_context io;
  coipc::async_route<telemetry::reading> route(io, channel, coipc::role::receiver);
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), port});
  std::printf("tcp_latest: subscribed to '%s', serving the latest reading on 127.0.0.1:%u\n",
              channel.c_str(), port);
  std::fflush(stdout);
  latest_value latest;
  auto rethrow = [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  };
  asio::co_spawn(io, follow(route, latest, acceptor), rethrow);
  asio::co_spawn(io, serve(acceptor, latest), rethrow);
  io.run();
  std::printf("tcp_latest: served %llu client(s); final %s",
              static_cast<unsigned long long>(latest.served), format(latest.reading).c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "tcp_latest: %s\n", e.what());
  return 1;
}
