// The readable output: a title per scenario, then one row per system.
#pragma once
#include <string>

#include "result.hpp"
#include "spec.hpp"

namespace bench {

/// "route 1->2 · 9-256 B · process · 100000 msgs/sender".
std::string scenario_title(const case_spec& c);
/// Column heads for the scenario's kind (throughput or latency).
std::string table_header(const case_spec& c);
std::string table_row(const result& r);

}  // namespace bench
