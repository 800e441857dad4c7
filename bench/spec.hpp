// One benchmark case: what runs (pattern, topology, sizes, mode, API) and on which system.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace bench {

enum class pattern { route, channel, pingpong };
enum class run_mode { process, thread };
enum class api_kind { blocking, coroutine };
/// How a receiver waits for its next message: the system's blocking call ("park"), or a
/// busy loop over its non-blocking call ("spin"). Throughput cases always park.
enum class wait_kind { park, spin };

/// Each enum's names, one table each: the command line takes them (options.cpp) and the
/// output writes them (to_string).
template <class E>
using names_of = std::pair<std::string_view, E>[];
inline constexpr names_of<pattern> pattern_names{
    {"route", pattern::route}, {"channel", pattern::channel}, {"pingpong", pattern::pingpong}};
inline constexpr names_of<run_mode> mode_names{{"process", run_mode::process}, {"thread", run_mode::thread}};
inline constexpr names_of<api_kind> api_names{{"blocking", api_kind::blocking}, {"coroutine", api_kind::coroutine}};
inline constexpr names_of<wait_kind> wait_names{{"spin", wait_kind::spin}, {"park", wait_kind::park}};

template <class E, std::size_t N>
constexpr std::string_view name_in(const std::pair<std::string_view, E> (&names)[N], E value) {
  for (const auto& [name, v] : names)
    if (v == value) return name;
  return "?";
}
constexpr std::string_view to_string(pattern p) { return name_in(pattern_names, p); }
constexpr std::string_view to_string(run_mode m) { return name_in(mode_names, m); }
constexpr std::string_view to_string(api_kind a) { return name_in(api_names, a); }
constexpr std::string_view to_string(wait_kind w) { return name_in(wait_names, w); }

struct case_spec {
  std::string system;
  bench::pattern pattern = pattern::route;
  std::uint32_t senders = 1;
  std::uint32_t receivers = 1;
  std::uint64_t messages = 0;  ///< per sender (pingpong: round trips)
  std::uint32_t size_min = 9;
  std::uint32_t size_max = 256;
  run_mode mode = run_mode::process;
  api_kind api = api_kind::blocking;
  wait_kind wait = wait_kind::park;

  bool fixed_size() const { return size_min == size_max; }
  /// Parties taking part: pingpong has two (ping and pong).
  std::uint32_t parties() const { return pattern == pattern::pingpong ? 2 : senders + receivers; }
  /// "1->2", "2->2", "1<->1".
  std::string topology() const;
  /// "9-256 B", "4 KiB".
  std::string size_label() const;
};

std::string format_size(std::uint64_t bytes);

}  // namespace bench
