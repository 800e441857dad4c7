// The channel options of a coipc case, for both of coipc's APIs (blocking: coipc.cpp,
// coroutine: coipc_coroutine.cpp), so that `--api` changes the API and nothing else.
#pragma once
#include <algorithm>
#include <cstddef>

#include "../spec.hpp"
import coipc;

namespace bench {

/// Exactly the slots the case needs (a receiver scan covers max_receivers slots), the
/// library's default ring for the message size, and under pingpong/park no spinning at
/// all, so a waiting receiver always sleeps on the futex (the coroutine API's waiter
/// spins by the same policy before it parks).
inline coipc::channel_options coipc_options(const case_spec& spec) {
  const bool pingpong = spec.pattern == pattern::pingpong;
  coipc::channel_options o;
  o.max_message_size = std::max<std::size_t>(spec.size_max, 64);
  o.max_senders = pingpong ? 1 : spec.senders;
  o.max_receivers = pingpong ? 1 : spec.receivers;
  if (pingpong && spec.wait == wait_kind::park) o.spin = coipc::spin_policy{0, 0};
  return o;
}

}  // namespace bench
