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
  /// `--api A[,A...]` (or all): each case runs once per API, in this order, in one table.
  std::vector<api_kind> apis{api_kind::blocking};
  std::vector<std::string> systems{"coipc"};  ///< built ones only (registry.hpp)
  bool all_systems = false;                   ///< `--system all`: say which are not built
  std::string json_path;
  bool quick = false;
  std::uint32_t repeat = 1;
  std::optional<double> timeout_s;
  /// `--duration S`: seconds each case's measured run should last, per system and API
  /// (default 0.5); the count comes from a calibration run. Not with --messages or --quick,
  /// which fix the count.
  std::optional<double> duration_s;
  bool help = false;
  /// `--memory-channels [N]`: the memory scenario (memory.hpp) with N channels instead of
  /// the matrix; only --messages, a fixed --size and --json apply to it.
  std::optional<std::uint32_t> memory_channels;
};

inline constexpr double default_duration_s = 0.5;

/// Whether each case is sized by time (calibrated per system and API): unless --messages
/// or --quick fixes the count.
inline bool time_based(const options& o) { return !o.messages && !o.quick; }
/// The seconds a time-based case's measured run aims at.
inline double target_duration(const options& o) { return o.duration_s.value_or(default_duration_s); }
/// The seconds one run of a case (a calibration run or a measured one) may take before its
/// process group is killed: --timeout, else 30 with --quick, else 300, or more for a long
/// --duration (four times it, plus a minute).
double run_timeout(const options& o);

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

/// `--api`'s value: names (api_names) or `all`, comma-separated, each once, in the order
/// given; a bad one throws CLI::ValidationError naming --api.
std::vector<api_kind> api_list(const std::string& value);

/// The --help text: every option, and the systems this build lacks.
std::string usage();

}  // namespace bench
