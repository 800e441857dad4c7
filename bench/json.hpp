// The --json output: one JSON object per result per line (JSON Lines).
#pragma once
#include <string>
#include <vector>

#include "result.hpp"

namespace bench {

/// The result as one line of JSON (no trailing newline); null where not measured.
/// `missing_systems`: the known systems this coipc-bench was built without (registry.hpp),
/// recorded on every line, as the lines are read one by one: that a peer has no results
/// may be because it was not built, not because it was not asked for.
std::string to_json(const result& r, const std::vector<std::string>& missing_systems = {});

}  // namespace bench
