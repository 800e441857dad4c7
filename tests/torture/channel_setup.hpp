// coipc-torture: the channel every process of a variant opens, and the dispatch from a
// variant (known at run time) to the channel's C++ types (known at compile time).
//
// Include after `import coipc;`: this header uses coipc's types.
#pragma once

#include <chrono>
#include <cstddef>
#include <utility>

#include "support/payload.hpp"
#include "variant.hpp"

namespace torture {

/// The typed payload: a fixed-size message (support/payload.hpp) of two units' worth of
/// header and pattern. Torture messages carry the sender's incarnation as their id, unique
/// for the whole run; id 0 is the supervisor's end-of-run sentinel, sent once every sender
/// is gone.
struct typed_message {
  coipc_payload::header header;
  std::byte pattern[128 - coipc_payload::header_size];
};
static_assert(sizeof(typed_message) == 128);

/// The same options in every process: a mismatch would be refused at open.
inline coipc::channel_options options_for(const variant& v) {
  coipc::channel_options o;
  o.capacity = ring_capacity;
  if (v.payload == payload_t::bytes) o.max_message_size = max_message;
  o.max_receivers = max_receivers;
  o.max_senders = max_senders;
  o.overflow = v.policy == policy_t::block ? coipc::overflow_policy::block : coipc::overflow_policy::overwrite;
  o.stall_timeout = std::chrono::milliseconds(stall_timeout_ms);
  return o;
}

/// Calls `f.template operator()<T, Kind>()` with the variant's payload type (coipc::bytes
/// or typed_message) and channel kind (route or channel).
template <class F>
decltype(auto) with_channel_types(const variant& v, F&& f) {
  using coipc::detail::channel_kind;
  if (v.payload == payload_t::bytes) {
    if (v.kind == kind_t::route) return std::forward<F>(f).template operator()<coipc::bytes, channel_kind::route>();
    return std::forward<F>(f).template operator()<coipc::bytes, channel_kind::channel>();
  }
  if (v.kind == kind_t::route) return std::forward<F>(f).template operator()<typed_message, channel_kind::route>();
  return std::forward<F>(f).template operator()<typed_message, channel_kind::channel>();
}

}  // namespace torture
