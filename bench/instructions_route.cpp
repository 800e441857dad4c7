// coipc-instructions: the loop that scripts/instructions-per-message.sh runs under
// callgrind, to count instructions per message on route 1->1 (bytes, 100 B, zero-copy
// receive, one process, batches of 32). Run with N and 2N messages: the difference / N is
// the per-message cost, start-up excluded. "send" runs the sender alone (no receiver).
//   coipc-instructions both|send N
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <unistd.h>
import coipc;

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  const std::string mode = argv[1];
  const long n = std::atol(argv[2]);
  const std::string name = "cg." + std::to_string(::getpid());
  coipc::route<coipc::bytes> tx(name, coipc::role::sender);
  coipc::route<coipc::bytes> rx;
  if (mode == "both") rx = coipc::route<coipc::bytes>(name, coipc::role::receiver);
  std::byte payload[100] = {};
  std::size_t sum = 0;
  constexpr long batch = 32;
  for (long done = 0; done < n; done += batch) {
    for (long i = 0; i < batch; ++i) {
      payload[0] = static_cast<std::byte>(i);
      tx.send(std::span<const std::byte>(payload, sizeof payload));
    }
    if (mode == "both") {
      for (long i = 0; i < batch; ++i) {
        auto v = rx.view();
        sum += static_cast<std::size_t>(v.data()[0]);
      }
    }
  }
  coipc::remove_segment(name);
  std::printf("%zu\n", sum);
  return 0;
}
