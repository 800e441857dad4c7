// coipc-torture: how a run splits over its variants, the same for the kill torture
// (supervisor.cpp) and the hostile writer (hostile.cpp): which variants, each one's seed and
// its share of the kills. Both must split alike, so that `--seed S` replays either.
#pragma once

#include <cstdint>
#include <vector>

#include "variant.hpp"

namespace torture {

/// splitmix64: the seeds derived from the run's (a variant's from the run's and its index,
/// an incarnation's from its variant's and its id), so that one --seed replays them all.
inline std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// The variants a run goes through: with `all`, the sixteen (`single` gives the receivers,
/// a channel has `channel_senders` senders, a route one); else `single` alone.
inline std::vector<variant> variants_of(bool all, const variant& single, unsigned channel_senders) {
  if (!all) return {single};
  std::vector<variant> out;
  for (auto kind : {kind_t::route, kind_t::channel}) {
    for (auto policy : {policy_t::block, policy_t::overwrite}) {
      for (auto payload : {payload_t::bytes, payload_t::typed}) {
        for (auto api : {api_t::blocking, api_t::coroutine}) {
          variant v = single;
          v.kind = kind;
          v.policy = policy;
          v.payload = payload;
          v.api = api;
          v.senders = kind == kind_t::route ? 1 : channel_senders;
          out.push_back(v);
        }
      }
    }
  }
  return out;
}

/// Variant i's share of `total` kills over n variants: even, the remainder to the first.
inline std::uint64_t share_of(std::uint64_t total, std::uint64_t n, std::uint64_t i) {
  return total / n + (i < total % n ? 1 : 0);
}

}  // namespace torture
