#include "options.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>
#include <string_view>
#include <type_traits>

#include "harness.hpp"
#include "registry.hpp"
#include "support/payload.hpp"

namespace bench {
namespace {

constexpr std::uint64_t max_size = 1u << 30;  ///< the largest --size, 1 GiB

/// Whole numbers in decimal digits, as the command line has always read them: CLI11's own
/// conversion (strtoull, base 0) would take 0x10, and read 010 as eight, so leading zeros
/// go here.
const CLI::Validator decimal(
    [](std::string& s) {
      if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos)
        return fmt::format("'{}' is not a whole number", s);
      s.erase(0, std::min(s.find_first_not_of('0'), s.size() - 1));
      return std::string();
    },
    "");

/// "route|channel|pingpong": an enum's names (spec.hpp) for the help and the errors.
template <class E, std::size_t N>
std::string choices(const std::pair<std::string_view, E> (&names)[N]) {
  std::vector<std::string_view> words;
  for (const auto& [name, value] : names) words.push_back(name);
  return fmt::format("{}", fmt::join(words, "|"));
}

/// Turns one of an enum's names into the number CLI11 stores in the enum; nothing else is
/// taken (CLI11's CheckedTransformer would take the numbers too).
template <class E, std::size_t N>
CLI::Validator one_of(const std::pair<std::string_view, E> (&names)[N]) {
  return CLI::Validator(
      [&names](std::string& s) {
        for (const auto& [name, value] : names)
          if (s == name) {
            s = std::to_string(static_cast<std::underlying_type_t<E>>(value));
            return std::string();
          }
        return fmt::format("'{}' is not one of {}", s, choices(names));
      },
      "");
}

/// One end of --size: a decimal number and an optional unit, CLI11's size units counted in
/// 1024s (K, k, KB, KiB, M, MB, MiB, ...); nullopt when malformed.
std::optional<std::uint64_t> bytes(const std::string& text) {
  const std::size_t unit = std::min(text.find_first_not_of("0123456789"), text.size());
  std::string value = text.substr(0, unit);
  if (!decimal(value).empty() ||
      !std::all_of(text.begin() + static_cast<std::ptrdiff_t>(unit), text.end(),
                   [](unsigned char c) { return std::isalpha(c); }))
    return std::nullopt;
  value += text.substr(unit);
  try {
    if (!CLI::AsSizeValue(false)(value).empty()) return std::nullopt;  // now in bytes, in digits
  } catch (const CLI::ValidationError&) {  // an unknown unit, or too large
    return std::nullopt;
  }
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc{} || end != value.data() + value.size()) return std::nullopt;
  return n;
}

/// --size A or A-B, each from the tag's 8 B (support/payload.hpp) to 1 GiB, A <= B.
std::pair<std::uint32_t, std::uint32_t> size_range(const std::string& value) {
  const std::size_t dash = value.find('-');
  const auto a = bytes(value.substr(0, dash));
  const auto b = dash == std::string::npos ? a : bytes(value.substr(dash + 1));
  if (!a || !b || *a < coipc_payload::tag_size || *b < *a || *b > max_size)
    throw CLI::ValidationError(
        "--size", fmt::format("'{}' is not A or A-B, from {} B to 1 GiB, A <= B", value, coipc_payload::tag_size));
  return {static_cast<std::uint32_t>(*a), static_cast<std::uint32_t>(*b)};
}

}  // namespace

std::vector<api_kind> api_list(const std::string& value) {
  std::vector<api_kind> out;
  std::size_t from = 0;
  for (;;) {
    const std::size_t comma = value.find(',', from);
    const std::string word = value.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
    std::vector<api_kind> these;
    if (word == "all") {
      for (const auto& [name, a] : api_names) these.push_back(a);
    } else {
      for (const auto& [name, a] : api_names)
        if (word == name) these.push_back(a);
      if (these.empty())
        throw CLI::ValidationError("--api", fmt::format("'{}' is not one of {} or all", word, choices(api_names)));
    }
    for (api_kind a : these)
      if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    if (comma == std::string::npos) return out;
    from = comma + 1;
  }
}

double run_timeout(const options& o) {
  if (o.timeout_s) return *o.timeout_s;
  if (o.quick) return 30;
  return std::max(300.0, 4 * target_duration(o) + 60);
}

namespace {

/// The options, bound to `o`. What no one option can check (which options go together) is
/// left to parse_options.
struct command_line {
  CLI::App app{"", "coipc-bench"};
  /// The options that shape the matrix's cases: none applies to --memory-channels.
  std::vector<const CLI::Option*> matrix;

  explicit command_line(options& o) {
    app.get_formatter()->label("Usage", "usage");
    app.get_formatter()->column_width(37);
    // An option given twice takes its last value, as it always has.
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    // --help is a plain flag, not CLI11's help flag (which ends the parse but lets some
    // errors through first): an error anywhere on the line wins, as it always has.
    app.set_help_flag();
    app.add_flag("-h,--help", o.help, "this text")->disable_flag_override();

    const auto case_option = [&](CLI::Option* opt) {
      matrix.push_back(opt);
      return opt;
    };
    case_option(app.add_option("--pattern", o.pattern, "scenario (default: the whole matrix)"))
        ->transform(one_of(pattern_names))
        ->option_text(choices(pattern_names));
    case_option(
        app.add_option("--senders", o.senders, fmt::format("senders (channel; route has 1), 1-{}", max_endpoints)))
        ->transform(decimal)
        ->check(CLI::Range(1u, max_endpoints))
        ->option_text("N");
    case_option(app.add_option("--receivers", o.receivers, fmt::format("receivers, 1-{}", max_endpoints)))
        ->transform(decimal)
        ->check(CLI::Range(1u, max_endpoints))
        ->option_text("M");
    case_option(app.add_option("--duration", o.duration_s,
                               fmt::format("seconds each case runs per system and API (default\n"
                                           "{}), its count sized by a calibration run",
                                           default_duration_s)))
        ->check(CLI::Range(0.01, 3600.0))
        ->option_text("S");
    app.add_option("--messages", o.messages,
                   "messages per sender, or round trips: a fixed count\n"
                   "instead of --duration (--quick: 10000, pingpong 1000)")
        ->transform(decimal)
        ->check(CLI::Range(std::uint64_t{1}, coipc_payload::seq_mask))
        ->option_text("K");
    app.add_option_function<std::string>(
           "--size", [&o](const std::string& v) { o.size = size_range(v); },
           fmt::format("message size in bytes, fixed or uniformly random in\n"
                       "[A, B]; K and M suffixes (min {} B, max 1 GiB)",
                       coipc_payload::tag_size))
        ->option_text("A | A-B");
    case_option(app.add_option("--mode", o.mode, "each party its own process (fork) or thread"))
        ->transform(one_of(mode_names))
        ->option_text(choices(mode_names));
    case_option(app.add_option("--wait", o.wait, "pingpong receivers: busy-poll or block (default both)"))
        ->transform(one_of(wait_names))
        ->option_text(choices(wait_names));
    case_option(app.add_option_function<std::string>(
                    "--api", [&o](const std::string& v) { o.apis = api_list(v); },
                    "coipc's API, one or more (coroutine: co_await via\n"
                    "coipc.asio; peers run blocking only)"))
        ->option_text(choices(api_names) + "[,...]|all");
    case_option(app.add_option_function<std::string>(
                    "--system",
                    [&o](const std::string& v) {
                      auto sel = select_systems(v);
                      if (!sel.error.empty()) throw CLI::ValidationError(sel.error);
                      o.systems = std::move(sel.names);
                      o.all_systems = sel.all;
                    },
                    system_help()))
        ->option_text("S[,S...]");
    app.add_option("--json", o.json_path, "also write one JSON object per result per line")
        ->check(CLI::Validator([](std::string& s) { return s.empty() ? std::string("needs a file name") : ""; }, ""))
        ->option_text("FILE");
    case_option(app.add_flag("--quick", o.quick, "fewer messages: the default matrix in seconds"))
        ->disable_flag_override();
    case_option(app.add_option("--repeat", o.repeat, "run each case R times; report the median and spread"))
        ->transform(decimal)
        ->check(CLI::Range(1u, 1000u))
        ->option_text("R");
    case_option(app.add_option("--timeout", o.timeout_s, "seconds a case may take before it is killed"))
        ->transform(decimal)
        ->check(CLI::Range(1.0, 86400.0))
        ->option_text("S");
    // The count may be left out: then it is the default (and a following option is not
    // taken for it).
    app.add_option("--memory-channels", o.memory_channels,
                   fmt::format("instead of the matrix: what N (default {}) default\n"
                               "channel<bytes> cost in one process, each carrying\n"
                               "--messages (default {}) of a fixed --size (default {} B)",
                               default_memory_channels, default_memory_messages, default_memory_size))
        ->expected(0, 1)
        ->default_str(std::to_string(default_memory_channels))
        ->transform(decimal)
        ->check(CLI::Range(1u, max_memory_channels))
        ->option_text("[N]");
    app.footer(
        "Without --pattern/--senders/--receivers/--size/--mode each of those takes its default\n"
        "matrix: route 1->1 and 1->M, channel N->1 and N->M (N, M default 2), pingpong; sizes\n"
        "9-256 B everywhere and 8 B, 4 KiB, 64 KiB, 1 MiB for route 1->1; process mode, plus\n"
        "thread mode at 9-256 B. Unless --messages or --quick fixes the count, each case runs\n"
        "about --duration per system and API: a calibration run measures the time per message\n"
        "(not reported), the measured run takes as many. --quick: a sender sends at most 16 MiB.");
  }

  /// Every known system, so that the text is the same for every build; the ones this build
  /// lacks are named after them.
  static std::string system_help() {
    std::vector<std::string> names;
    for (const auto& s : known_systems()) names.push_back(s.name);
    const auto missing = missing_system_names();
    return fmt::format("{}, or all\n(default coipc){}", fmt::join(names, " "),
                       missing.empty() ? "" : fmt::format("; not built here: {}", fmt::join(missing, " ")));
  }
};

}  // namespace

std::string usage() {
  options unused;
  return command_line(unused).app.help();
}

parse_outcome parse_options(int argc, const char* const* argv) {
  parse_outcome out;
  options& o = out.options;
  auto fail = [&](std::string msg) {
    out.error = std::move(msg);
    return out;
  };
  command_line cl(o);
  try {
    cl.app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return fail(e.what());
  }
  if (o.memory_channels) {
    // The first, as given, of the options that do not apply.
    for (const CLI::Option* opt : cl.app.parse_order())
      if (std::find(cl.matrix.begin(), cl.matrix.end(), opt) != cl.matrix.end())
        return fail(fmt::format("{} does not apply to --memory-channels", opt->get_name()));
    if (o.size && o.size->first != o.size->second) return fail("--memory-channels takes a fixed --size");
    return out;
  }
  if (o.duration_s && o.messages) return fail("--duration and --messages exclude each other (a time or a count)");
  if (o.duration_s && o.quick) return fail("--duration and --quick exclude each other (--quick fixes small counts)");
  if (time_based(o) && o.timeout_s && *o.timeout_s < 2 * target_duration(o))
    return fail(fmt::format("--timeout {} leaves no room for a {} s run (--duration): give at least twice it",
                            *o.timeout_s, target_duration(o)));
  if (o.pattern == pattern::route && o.senders && *o.senders != 1)
    return fail("a route has exactly one sender (use --pattern channel)");
  if (o.pattern == pattern::pingpong && ((o.senders && *o.senders != 1) || (o.receivers && *o.receivers != 1)))
    return fail("pingpong is one sender and one receiver");
  return out;
}

}  // namespace bench
