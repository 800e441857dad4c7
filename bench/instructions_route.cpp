// coipc-instructions: the loops that scripts/instructions-per-message.sh runs under
// callgrind, to count instructions per message on route<bytes> 1->1, in one thread (a
// sender and a receiver endpoint on the same route, batches of 32, sizes 9-256 B from a
// fixed sequence). Run with N and 2N messages: the difference / N is the per-message cost,
// start-up excluded.
//
//   coipc-instructions MODE N
//     zero-copy   loan, fill, commit; view_for, release     (the reference loop)
//     copy        send; recv (a std::vector per message)
//     copy-into   send; recv_into a buffer (no allocation)
//     send        send alone (no receiver)
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <unistd.h>
import coipc;

namespace {

constexpr long batch = 32;

/// 9..256 B, the reference workload's sizes, the same sequence in every mode.
std::size_t size_of(long i) { return 9 + static_cast<std::size_t>((i * 2654435761u) >> 7) % 248; }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: coipc-instructions zero-copy|copy|copy-into|send N\n");
    return 2;
  }
  // Decided once: the loop's own cost must not blur the library's.
  const std::string mode_name = argv[1];
  enum class loop { zero_copy, copy, copy_into, send } mode;
  if (mode_name == "zero-copy") {
    mode = loop::zero_copy;
  } else if (mode_name == "copy") {
    mode = loop::copy;
  } else if (mode_name == "copy-into") {
    mode = loop::copy_into;
  } else if (mode_name == "send") {
    mode = loop::send;
  } else {
    std::fprintf(stderr, "coipc-instructions: unknown mode '%s'\n", mode_name.c_str());
    return 2;
  }
  const long n = std::atol(argv[2]);
  const bool receives = mode != loop::send;
  const std::string name = "cg." + std::to_string(::getpid());
  coipc::route<coipc::bytes> tx(name, coipc::role::sender);
  coipc::route<coipc::bytes> rx;
  if (receives) rx = coipc::route<coipc::bytes>(name, coipc::role::receiver);
  std::byte payload[256] = {};
  std::byte into[256];
  std::size_t sum = 0;
  for (long done = 0; done < n; done += batch) {
    for (long i = 0; i < batch; ++i) {
      const std::size_t size = size_of(done + i);
      if (mode == loop::zero_copy) {
        auto loan = tx.loan(size);
        loan.data()[0] = static_cast<std::byte>(i);
        loan.data()[size - 1] = static_cast<std::byte>(i);
        loan.commit();
      } else {
        payload[0] = static_cast<std::byte>(i);
        tx.send(std::span<const std::byte>(payload, size));
      }
    }
    if (!receives) continue;
    for (long i = 0; i < batch; ++i) {
      if (mode == loop::zero_copy) {
        auto v = rx.view_for(std::chrono::seconds(1));
        sum += static_cast<std::size_t>(v.data()[0]);
      } else if (mode == loop::copy) {
        auto m = rx.recv();
        sum += static_cast<std::size_t>(m.data[0]);
      } else {
        sum += rx.recv_into(into);
      }
    }
  }
  coipc::remove_segment(name);
  std::printf("%zu\n", sum);
  return 0;
}
