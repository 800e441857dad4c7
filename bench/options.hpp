// The command line (CLI11: options.cpp).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "spec.hpp"

namespace bench {

struct options {
  std::optional<bench::pattern> pattern;
  std::optional<std::uint32_t> senders, receivers;
  std::optional<std::uint64_t> messages;
  std::optional<std::pair<std::uint32_t, std::uint32_t>> size;
  std::optional<run_mode> mode;
  std::optional<wait_kind> wait;
  api_kind api = api_kind::blocking;
  std::vector<std::string> systems{"coipc"};  ///< built ones only (registry.hpp)
  bool all_systems = false;                   ///< `--system all`: say which are not built
  std::string json_path;
  bool quick = false;
  std::uint32_t repeat = 1;
  std::optional<double> timeout_s;
  bool help = false;
  /// `--memory-channels [N]`: the memory scenario (memory.hpp) with N channels instead of
  /// the matrix; only --messages, a fixed --size and --json apply to it.
  std::optional<std::uint32_t> memory_channels;
};

inline constexpr std::uint32_t default_memory_channels = 100;
inline constexpr std::uint32_t max_memory_channels = 10000;
inline constexpr std::uint64_t default_memory_messages = 10000;  ///< per channel
inline constexpr std::uint32_t default_memory_size = 256;

/// Parses argv (CLI11, options.cpp); on a bad argument returns the message to print above
/// the usage, which names the option.
struct parse_outcome {
  bench::options options;
  std::string error;  ///< empty: parsed
};
parse_outcome parse_options(int argc, const char* const* argv);

/// The --help text: every option, and the systems this build lacks.
std::string usage();

}  // namespace bench
