// chat: a chat room on a coipc channel of variable-length messages. Every participant is a
// sender and a receiver; each sees the others' lines (its own are filtered out).
//
//   chat [CHANNEL] NAME PARTICIPANTS < lines
//
// Reads lines from standard input (an Asio stream descriptor, so one io_context serves the
// keyboard and the channel) and sends them as "NAME: line". Waits until PARTICIPANTS are in
// the room before speaking, and leaves when its input ends and everyone else has left.
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unistd.h>

import coipc;
import coipc.asio;

namespace {
using room = coipc::async_channel<coipc::bytes>;

asio::awaitable<void> speak(room& chat, const std::string& name) {
  asio::posix::stream_descriptor input(co_await asio::this_coro::executor, ::dup(STDIN_FILENO));
  std::string buffer;
  for (;;) {
    auto [ec, n] = co_await asio::async_read_until(input, asio::dynamic_buffer(buffer), '\n',
                                                   asio::experimental::as_tuple(asio::use_awaitable));
    if (ec) break;  // end of input
    std::string line = name + ": " + buffer.substr(0, n - 1);
    buffer.erase(0, n);
    co_await chat.send(std::as_bytes(std::span(line)));
  }
  std::string bye = name + " /left";
  co_await chat.send(std::as_bytes(std::span(bye)));
}

asio::awaitable<void> listen(room& chat, const std::string& name, int participants) {
  std::set<std::string> left;
  while (static_cast<int>(left.size()) < participants - 1) {
    coipc::message m = co_await chat.recv();
    std::string_view text = m.text();
    std::string_view from = text.substr(0, text.find_first_of(": "));
    if (from == name) continue;  // our own line, broadcast back to us
    if (text.ends_with(" /left")) {
      left.insert(std::string(from));
      std::printf("[%s] * %.*s left\n", name.c_str(), static_cast<int>(from.size()), from.data());
    } else {
      std::printf("[%s] %.*s\n", name.c_str(), static_cast<int>(text.size()), text.data());
    }
    std::fflush(stdout);
  }
}
}  // namespace

int main(int argc, char** argv) try {
  if (argc != 4) {
    std::fprintf(stderr, "usage: chat CHANNEL NAME PARTICIPANTS < lines\n");
    return 2;
  }
  const std::string channel = argv[1], name = argv[2];
  const int participants = std::atoi(argv[3]);
  coipc::channel_options options;
  options.max_message_size = 4096;
  options.capacity = 64 * 1024;
  asio::io_context io;
  room chat(io, channel, coipc::role::both, options);
  if (!chat.channel().wait_for_receivers(static_cast<std::uint32_t>(participants), std::chrono::seconds(30))) {
    std::fprintf(stderr, "chat: the others did not come within 30 s\n");
    return 1;
  }
  auto rethrow = [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  };
  asio::co_spawn(io, listen(chat, name, participants), rethrow);
  asio::co_spawn(io, speak(chat, name), rethrow);
  io.run();
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "chat: %s\n", e.what());
  return 1;
}
