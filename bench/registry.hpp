// Which systems coipc-bench knows, and which of them this build has: one table, the
// systems in the order they run, each with its factory or the reason it is missing. coipc
// and the peers that come with libc (POSIX queues, Unix sockets, pipes) are always built;
// Boost.Interprocess, ZeroMQ and iceoryx only where CMake found them
// (bench/CMakeLists.txt), so a name may be known and still not runnable here: `--system`
// says why, rather than "unknown".
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

class ipc_system;

struct known_system {
  std::string name;
  /// Makes the system; null when it is not built.
  std::unique_ptr<ipc_system> (*make)() = nullptr;
  /// Why it is not built, as "<what> was not found" (CMake's words, from the configure
  /// that made this build); empty when built.
  std::string missing;
  bool built() const { return make != nullptr; }
};

/// Every system coipc-bench knows, built or not, in the order they run.
const std::vector<known_system>& known_systems();

/// The names of the built ones among `known`, in order: what `--system all` runs.
std::vector<std::string> built_system_names(const std::vector<known_system>& known = known_systems());
/// The names of the known ones not built.
std::vector<std::string> missing_system_names(const std::vector<known_system>& known = known_systems());

/// `--system`'s value ("coipc,zmq", "all") against `known`: the systems to run, in the
/// order given, each once; or, for a name not built or not known, the error to print.
struct system_selection {
  std::vector<std::string> names;
  bool all = false;   ///< "all" was among them
  std::string error;  ///< empty: selected
};
system_selection select_systems(std::string_view list, const std::vector<known_system>& known = known_systems());

/// "not built: zmq (libzmq was not found at configure time), iceoryx (...)", or empty
/// when every known system is built.
std::string not_built_line(const std::vector<known_system>& known = known_systems());

/// A system of this build by name, one select_systems chose (any other: std::logic_error).
std::unique_ptr<ipc_system> make_system(std::string_view name);

}  // namespace bench
