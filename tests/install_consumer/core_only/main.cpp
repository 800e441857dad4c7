// Imports the core module only and round-trips a message through a real channel.
#include <cstdio>
#include <string>
#include <unistd.h>

import coipc;

int main() {
  const std::string name = "test.core-consumer." + std::to_string(::getpid());
  coipc::route<int> tx(name, coipc::role::sender);
  coipc::route<int> rx(name, coipc::role::receiver);
  tx.send(42);
  const bool ok = rx.recv() == 42;
  coipc::remove_segment(name);
  std::printf("core_consumer: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
