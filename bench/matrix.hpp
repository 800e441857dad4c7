// Which cases a command line asks for: the default matrix, narrowed by each option given.
#pragma once
#include <vector>

#include "options.hpp"
#include "spec.hpp"

namespace bench {

/// The scenarios to run, in order, without a system (each runs on every selected system).
std::vector<case_spec> build_matrix(const options& o);

/// Messages per sender (round trips for pingpong) when --messages is not given.
std::uint64_t default_messages(pattern p, std::uint32_t size_max, bool quick);

}  // namespace bench
