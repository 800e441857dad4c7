// One reported result: a case on one system, summarized over its repeats.
#pragma once
#include <optional>
#include <string>

#include "runner.hpp"
#include "spec.hpp"
#include "status.hpp"

namespace bench {

struct result {
  case_spec spec;
  run_status status = run_status::ok;
  std::string note;       ///< how the system ran it (e.g. emulated broadcast), or why not
  measurement median;     ///< the repeat with the median us/datum
  std::optional<double> us_min, us_max;  ///< spread of us/datum over the repeats
  std::uint32_t repeats = 0;
};

}  // namespace bench
