// How a case ended (or the memory scenario): one enum, which the table, the exit status
// and the --json "status" field all read, so that no two of them spell it differently.
#pragma once
#include <string_view>

namespace bench {

enum class run_status {
  ok,
  failed,          ///< a party failed, a message was lost or bad, or the run was interrupted
  timeout,         ///< killed after --timeout seconds
  not_applicable,  ///< the system cannot run the case (ipc_system::check); not run at all
};

/// "ok", "failed", "timeout", "n/a": the words of the table and of the JSON.
constexpr std::string_view to_string(run_status s) {
  switch (s) {
    case run_status::ok: return "ok";
    case run_status::failed: return "failed";
    case run_status::timeout: return "timeout";
    case run_status::not_applicable: return "n/a";
  }
  return "?";
}

}  // namespace bench
