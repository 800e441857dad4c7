#include "system.hpp"

#include <algorithm>

namespace bench {

std::unique_ptr<ipc_system> make_system(std::string_view name) {
  if (name == "coipc") return make_coipc();
  if (name == "posix_mq") return make_posix_mq();
  if (name == "uds") return make_uds();
  if (name == "pipe") return make_pipe();
  if (name == "boost_mq") return make_boost_mq();
  if (name == "zmq") return make_zmq();
  if (name == "iceoryx") return make_iceoryx();
  return nullptr;
}

std::uint32_t queue_depth(std::uint32_t size_max) {
  constexpr std::uint64_t max_bytes = 32u << 20;
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(max_bytes / std::max<std::uint32_t>(size_max, 1), 1, 256));
}

}  // namespace bench
