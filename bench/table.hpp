// The readable output: a title per scenario, then one row per system.
#pragma once
#include <optional>
#include <string>

#include "result.hpp"
#include "spec.hpp"

namespace bench {

/// "route 1->2 · 9-256 B · process · 100000 msgs/sender", or for a case sized by time
/// (`target_s`), "... · 0.5 s per row (count calibrated)".
std::string scenario_title(const case_spec& c, std::optional<double> target_s = std::nullopt);
/// Column heads for the scenario's kind (throughput or latency).
std::string table_header(const case_spec& c);
std::string table_row(const result& r);
/// What the columns mean, printed under the last table.
std::string legend(std::optional<double> target_s);

}  // namespace bench
