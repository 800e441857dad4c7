// The --json output: one JSON object per result per line (JSON Lines).
#pragma once
#include <string>

#include "result.hpp"

namespace bench {

/// The result as one line of JSON (no trailing newline); null where not measured.
std::string to_json(const result& r);

}  // namespace bench
