// coipc-torture: what a run exercises (a variant) and where a party may be told to die.
//
// A variant is one point of the matrix the issue asks for: route or channel, block or
// overwrite, variable-length bytes or a typed payload, blocking or coroutine (coipc.asio)
// parties. --all cycles through all sixteen.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace torture {

enum class kind_t { route, channel };
enum class policy_t { block, overwrite };
enum class payload_t { bytes, typed };
enum class api_t { blocking, coroutine };

struct variant {
  kind_t kind = kind_t::route;
  policy_t policy = policy_t::block;
  payload_t payload = payload_t::bytes;
  api_t api = api_t::blocking;
  unsigned senders = 1;    ///< a route has exactly one
  unsigned receivers = 2;

  std::string label() const {
    std::string s = kind == kind_t::route ? "route" : "channel";
    s += policy == policy_t::block ? "/block" : "/overwrite";
    s += payload == payload_t::bytes ? "/bytes" : "/typed";
    s += api == api_t::blocking ? "/blocking" : "/coroutine";
    return s;
  }
  /// The flags that name this variant (for a party's command line).
  std::vector<std::string> flags() const {
    return {"--kind",    kind == kind_t::route ? "route" : "channel",
            "--policy",  policy == policy_t::block ? "block" : "overwrite",
            "--payload", payload == payload_t::bytes ? "bytes" : "typed",
            "--api",     api == api_t::blocking ? "blocking" : "coroutine"};
  }
};

/// Channel geometry shared by every party and the supervisor: a small ring, so that the
/// ring is often full and large messages are a good part of it, and a short stall timeout,
/// so that recoveries from dead peers are frequent.
inline constexpr std::size_t ring_capacity = 64 << 10;
inline constexpr std::size_t max_message = ring_capacity / 2;
inline constexpr unsigned stall_timeout_ms = 50;
inline constexpr unsigned max_receivers = 8;
inline constexpr unsigned max_senders = 4;

/// Where a party may be told to kill itself (--die-at=POINT:N, the Nth time it gets there).
/// All but mid_payload are the library's fault-injection points; mid_payload is the
/// torture sender's own: half way through writing a loaned frame in place.
enum class die_point : unsigned {
  after_tail_cas,     ///< a sender claimed space and wrote nothing yet
  before_publish,     ///< a sender wrote the payload, not the stamp
  mid_payload,        ///< a sender wrote half the payload in place
  after_death_check,  ///< a checker found a peer dead, before it acts on it (settle/evict)
  liveness_check,     ///< inside the liveness check itself
  before_waiter_add,  ///< a coroutine operation found its channel not ready, not yet registered
  after_publish,      ///< a sender's frame is published, its send has not returned (not counted)
};
inline constexpr unsigned die_point_count = 7;
inline constexpr const char* die_point_names[die_point_count] = {
    "after_tail_cas", "before_publish", "mid_payload", "after_death_check", "liveness_check", "before_waiter_add",
    "after_publish"};

inline std::optional<die_point> parse_die_point(std::string_view s) {
  for (unsigned i = 0; i < die_point_count; ++i) {
    if (s == die_point_names[i]) return static_cast<die_point>(i);
  }
  return std::nullopt;
}

}  // namespace torture
