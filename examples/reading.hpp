// The message type of the telemetry examples: trivially copyable, sent by value.
#pragma once

#include <cstdint>

namespace telemetry {

struct reading {
  std::uint64_t seq;        ///< 0, 1, 2, ...
  std::int64_t sent_ns;     ///< CLOCK_MONOTONIC at publication (same clock in all processes)
  double temperature_c;     ///< the measured value
  std::uint32_t sensor_id;
  std::uint32_t last;       ///< 1 on the publisher's final reading: subscribers finish
};

/// The channel name of the examples (override with the first argument).
inline constexpr const char* default_channel = "examples.telemetry";

}  // namespace telemetry
