#include "system.hpp"

#include <algorithm>

namespace bench {

// Only the peers built (COIPC_BENCH_HAVE_*, from bench/CMakeLists.txt): the others'
// make_* are not compiled in. The registry (registry.cpp) has already turned away the
// names of the ones not built.
std::unique_ptr<ipc_system> make_system(std::string_view name) {
  if (name == "coipc") return make_coipc();
  if (name == "posix_mq") return make_posix_mq();
  if (name == "uds") return make_uds();
  if (name == "pipe") return make_pipe();
#if COIPC_BENCH_HAVE_BOOST_MQ
  if (name == "boost_mq") return make_boost_mq();
#endif
#if COIPC_BENCH_HAVE_ZMQ
  if (name == "zmq") return make_zmq();
#endif
#if COIPC_BENCH_HAVE_ICEORYX
  if (name == "iceoryx") return make_iceoryx();
#endif
  return nullptr;
}

std::uint32_t queue_depth(std::uint32_t size_max) {
  constexpr std::uint64_t max_bytes = 32u << 20;
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(max_bytes / std::max<std::uint32_t>(size_max, 1), 1, 256));
}

}  // namespace bench
