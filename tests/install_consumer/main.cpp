// Imports the installed modules and round-trips data through a real segment.
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <unistd.h>

import coipc;
import coipc.asio;

int main() {
  std::string name = "test.consumer." + std::to_string(::getpid());
  coipc::segment_geometry g;
  g.body_size = 4096;
  auto a = coipc::segment::open(name, coipc::bytes_fingerprint(), g, {},
                                [](std::span<std::byte> body) { std::memcpy(body.data(), "hi", 3); });
  auto b = coipc::segment::open(name, coipc::bytes_fingerprint(), g, {}, nullptr);
  coipc::remove_segment(name);
  bool ok = a.created() && !b.created() && std::memcmp(b.body().data(), "hi", 3) == 0 &&
            coipc::asio_support::asio_version >= 102200;
  std::printf("consumer: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
