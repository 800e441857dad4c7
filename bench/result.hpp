// One reported result: a case on one system, summarized over its repeats.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "runner.hpp"
#include "spec.hpp"
#include "status.hpp"

namespace bench {

/// How a case sized by time (--duration) found its count: the last calibration run.
struct calibration {
  double target_s = 0;            ///< the duration aimed at
  std::uint64_t messages = 0;     ///< per sender (pingpong: round trips) of the last calibration run
  double seconds = 0;             ///< its time, first send to last receive
  std::uint32_t runs = 0;         ///< calibration runs, a measured run that fell short included
};

struct result {
  case_spec spec;
  run_status status = run_status::ok;
  std::string note;       ///< how the system ran it (e.g. emulated broadcast), or why not
  measurement median;     ///< the repeat with the median us/datum
  std::optional<double> us_min, us_max;  ///< spread of us/datum over the repeats
  std::uint32_t repeats = 0;
  std::optional<bench::calibration> calibration;  ///< time-based cases; none for a fixed count
};

}  // namespace bench
