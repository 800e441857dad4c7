#include "options.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <cctype>

#include "harness.hpp"
#include "payload.hpp"
#include "registry.hpp"

namespace bench {
namespace {

std::optional<std::uint64_t> parse_uint(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

template <class E>
std::optional<E> pick(std::string_view s, std::initializer_list<std::pair<std::string_view, E>> choices) {
  for (auto& [name, value] : choices)
    if (s == name) return value;
  return std::nullopt;
}

}  // namespace

std::optional<std::uint64_t> parse_bytes(std::string_view s) {
  std::size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
  auto n = parse_uint(s.substr(0, digits));
  if (!n) return std::nullopt;
  const std::string_view unit = s.substr(digits);
  std::uint64_t mult = 1;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "K" || unit == "k" || unit == "KiB" || unit == "KB") mult = 1024;
  else if (unit == "M" || unit == "MiB" || unit == "MB") mult = 1u << 20;
  else return std::nullopt;
  if (*n > (std::uint64_t{1} << 40) / mult) return std::nullopt;
  return *n * mult;
}

std::string usage(std::string_view program) {
  // Every known system, so the text is the same for every build; the ones this build
  // lacks are named after it.
  std::vector<std::string> names;
  for (const auto& s : known_systems()) names.push_back(s.name);
  const auto missing = missing_system_names();
  const std::string not_built = missing.empty() ? "" : fmt::format("; not built here: {}", fmt::join(missing, " "));
  return fmt::format(
      "usage: {} [options]\n"
      "  --pattern route|channel|pingpong   scenario (default: the whole matrix)\n"
      "  --senders N                        senders (channel; route has 1), 1-{}\n"
      "  --receivers M                      receivers, 1-{}\n"
      "  --messages K                       messages per sender, or round trips (default 100000;\n"
      "                                     pingpong 20000; large sizes fewer, see below)\n"
      "  --size A | A-B                     message size in bytes, fixed or uniformly random in\n"
      "                                     [A, B]; K and M suffixes (min {} B, max 1 GiB)\n"
      "  --mode process|thread              each party its own process (fork) or thread\n"
      "  --wait spin|park                   pingpong receivers: busy-poll or block (default both)\n"
      "  --api blocking|coroutine           coipc's API (coroutine: co_await via coipc.asio)\n"
      "  --system S[,S...]                  {}, or all\n"
      "                                     (default coipc){}\n"
      "  --json FILE                        also write one JSON object per result per line\n"
      "  --quick                            fewer messages: the default matrix in seconds\n"
      "  --repeat R                         run each case R times; report the median and spread\n"
      "  --timeout S                        seconds a case may take before it is killed\n"
      "  --help                             this text\n"
      "  --memory-channels [N]              instead of the matrix: what N (default {}) default\n"
      "                                     channel<bytes> cost in one process, each carrying\n"
      "                                     --messages (default {}) of a fixed --size (default {} B)\n"
      "\n"
      "Without --pattern/--senders/--receivers/--size/--mode each of those takes its default\n"
      "matrix: route 1->1 and 1->M, channel N->1 and N->M (N, M default 2), pingpong; sizes\n"
      "9-256 B everywhere and 8 B, 4 KiB, 64 KiB, 1 MiB for route 1->1; process mode, plus\n"
      "thread mode at 9-256 B. Unless --messages is given, a sender sends at most 1 GiB\n"
      "(quick: 16 MiB).\n",
      program, max_endpoints, max_endpoints, min_message_size, fmt::join(names, " "), not_built,
      default_memory_channels, default_memory_messages, default_memory_size);
}

parse_outcome parse_options(int argc, const char* const* argv) {
  parse_outcome out;
  options& o = out.options;
  std::string_view case_option;  // the first option that shapes the matrix's cases
  auto fail = [&](std::string msg) {
    out.error = std::move(msg);
    return out;
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool has_value = false;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto next = [&]() -> std::optional<std::string_view> {
      if (has_value) return value;
      if (i + 1 >= argc) return std::nullopt;
      return std::string_view(argv[++i]);
    };
    auto flag_only = [&] { return !has_value; };

    if (arg == "--help" || arg == "-h") {
      o.help = true;
    } else if (arg == "--quick") {
      if (!flag_only()) return fail("--quick takes no value");
      o.quick = true;
      if (case_option.empty()) case_option = arg;
    } else if (arg == "--memory-channels") {
      // The count may be left out (the default), so a following option is not taken for it.
      std::optional<std::string_view> v;
      if (has_value) v = value;
      else if (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9') v = argv[++i];
      const auto n = v ? parse_uint(*v) : std::optional<std::uint64_t>(default_memory_channels);
      if (!n || *n < 1 || *n > max_memory_channels)
        return fail(fmt::format("bad --memory-channels '{}' (1-{})", v.value_or(""), max_memory_channels));
      o.memory_channels = static_cast<std::uint32_t>(*n);
    } else {
      auto v = next();
      if (!v) return fail(fmt::format("{} needs a value", arg));
      if (arg != "--messages" && arg != "--size" && arg != "--json" && case_option.empty()) case_option = arg;
      if (arg == "--pattern") {
        o.pattern = pick<pattern>(*v, {{"route", pattern::route}, {"channel", pattern::channel}, {"pingpong", pattern::pingpong}});
        if (!o.pattern) return fail(fmt::format("bad --pattern '{}'", *v));
      } else if (arg == "--senders" || arg == "--receivers") {
        auto n = parse_uint(*v);
        if (!n || *n < 1 || *n > max_endpoints) return fail(fmt::format("bad {} '{}' (1-{})", arg, *v, max_endpoints));
        (arg == "--senders" ? o.senders : o.receivers) = static_cast<std::uint32_t>(*n);
      } else if (arg == "--messages") {
        auto n = parse_uint(*v);
        if (!n || *n < 1 || *n > seq_mask) return fail(fmt::format("bad --messages '{}'", *v));
        o.messages = *n;
      } else if (arg == "--size") {
        const auto dash = v->find('-');
        auto a = parse_bytes(v->substr(0, dash));
        auto b = dash == std::string_view::npos ? a : parse_bytes(v->substr(dash + 1));
        if (!a || !b || *a < min_message_size || *b < *a || *b > (1u << 30))
          return fail(fmt::format("bad --size '{}' (A or A-B, {} B to 1 GiB)", *v, min_message_size));
        o.size = std::pair{static_cast<std::uint32_t>(*a), static_cast<std::uint32_t>(*b)};
      } else if (arg == "--mode") {
        o.mode = pick<run_mode>(*v, {{"process", run_mode::process}, {"thread", run_mode::thread}});
        if (!o.mode) return fail(fmt::format("bad --mode '{}'", *v));
      } else if (arg == "--wait") {
        o.wait = pick<wait_kind>(*v, {{"spin", wait_kind::spin}, {"park", wait_kind::park}});
        if (!o.wait) return fail(fmt::format("bad --wait '{}'", *v));
      } else if (arg == "--api") {
        auto a = pick<api_kind>(*v, {{"blocking", api_kind::blocking}, {"coroutine", api_kind::coroutine}});
        if (!a) return fail(fmt::format("bad --api '{}'", *v));
        o.api = *a;
      } else if (arg == "--system") {
        auto sel = select_systems(*v);
        if (!sel.error.empty()) return fail(std::move(sel.error));
        o.systems = std::move(sel.names);
        o.all_systems = sel.all;
      } else if (arg == "--json") {
        if (v->empty()) return fail("--json needs a file name");
        o.json_path = *v;
      } else if (arg == "--repeat") {
        auto n = parse_uint(*v);
        if (!n || *n < 1 || *n > 1000) return fail(fmt::format("bad --repeat '{}' (1-1000)", *v));
        o.repeat = static_cast<std::uint32_t>(*n);
      } else if (arg == "--timeout") {
        auto n = parse_uint(*v);
        if (!n || *n < 1 || *n > 86400) return fail(fmt::format("bad --timeout '{}' (seconds)", *v));
        o.timeout_s = static_cast<double>(*n);
      } else {
        return fail(fmt::format("unknown argument '{}'", arg));
      }
    }
  }
  if (o.memory_channels) {
    if (!case_option.empty()) return fail(fmt::format("{} does not apply to --memory-channels", case_option));
    if (o.size && o.size->first != o.size->second) return fail("--memory-channels takes a fixed --size");
    return out;
  }
  if (o.pattern == pattern::route && o.senders && *o.senders != 1)
    return fail("a route has exactly one sender (use --pattern channel)");
  if (o.pattern == pattern::pingpong && ((o.senders && *o.senders != 1) || (o.receivers && *o.receivers != 1)))
    return fail("pingpong is one sender and one receiver");
  return out;
}

}  // namespace bench
