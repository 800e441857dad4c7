// Unit tests of coipc-bench's own logic: the payload stamp and its checks (every system's
// results rest on them), the command line, the registry of systems, the matrix, the JSON
// line, the memory scenario's report.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "json.hpp"
#include "loops.hpp"
#include "matrix.hpp"
#include "memory.hpp"
#include "options.hpp"
#include "registry.hpp"
#include "support/payload.hpp"
#include "system.hpp"

using namespace bench;

namespace {

/// A line as it was written: its fields in order.
nlohmann::ordered_json read_line(const std::string& line) { return nlohmann::ordered_json::parse(line); }

/// A stand-in factory for registries made up by the tests: select_systems makes nothing.
std::unique_ptr<ipc_system> no_system() { return nullptr; }

std::vector<std::byte> message(const size_table& sizes, std::uint32_t sender, std::uint64_t seq) {
  std::vector<std::byte> m(sizes.at(sender, seq), std::byte{0x5a});
  coipc_payload::stamp(m.data(), m.size(), sender, seq);
  return m;
}

parse_outcome parse(std::vector<const char*> args) {
  args.insert(args.begin(), "coipc-bench");
  return parse_options(static_cast<int>(args.size()), args.data());
}

}  // namespace

TEST_CASE("stamped messages read back, at the smallest and large sizes") {
  for (std::size_t size : {std::size_t{8}, std::size_t{9}, std::size_t{256}, std::size_t{1} << 20}) {
    std::vector<std::byte> m(size);
    coipc_payload::stamp(m.data(), size, 3, 123456789);
    const coipc_payload::tag h = coipc_payload::read_tag(m.data());
    CHECK(h.id == 3);
    CHECK(h.seq == 123456789);
    CHECK(coipc_payload::stamped(m.data(), size, h));
    if (size > 8) {
      m[size - 1] ^= std::byte{1};
      CHECK_FALSE(coipc_payload::stamped(m.data(), size, h));
    }
    CHECK_FALSE(coipc_payload::stamped(m.data(), size + 1, h));  // the size is part of the check
  }
}

TEST_CASE("random sizes stay in range and are the same for senders and receivers") {
  const size_table a(9, 256), b(9, 256);
  bool varied = false;
  for (std::uint64_t i = 0; i < 50000; ++i) {
    const auto s = a.at(1, i);
    REQUIRE(s >= 9);
    REQUIRE(s <= 256);
    REQUIRE(s == b.at(1, i));
    varied |= s != a.at(1, 0);
  }
  CHECK(varied);
  CHECK(size_table(4096, 4096).at(7, 99) == 4096);
  CHECK(size_table(8, 8).bytes_of(0, 10) == 80);
}

TEST_CASE("the verifier passes good messages and catches every kind of bad one") {
  const size_table sizes(9, 256);
  party_slot slot{};
  SECTION("in order, two senders interleaved") {
    verifier v(2, sizes);
    for (std::uint64_t i = 0; i < 1000; ++i)
      for (std::uint32_t s = 0; s < 2; ++s) {
        auto m = message(sizes, s, i);
        v.check(m.data(), m.size());
      }
    v.report(slot);
    CHECK(slot.received == 2000);
    CHECK(slot.errors == 0);
    CHECK(slot.lost == 0);
  }
  SECTION("a gap is lost messages") {
    verifier v(1, sizes);
    for (std::uint64_t i : {0, 1, 5, 6}) {
      auto m = message(sizes, 0, i);
      v.check(m.data(), m.size());
    }
    v.report(slot);
    CHECK(slot.lost == 3);
    CHECK(slot.errors == 0);
  }
  SECTION("duplicate, wrong size, flipped byte, unknown sender, runt") {
    verifier v(1, sizes);
    auto m0 = message(sizes, 0, 0);
    v.check(m0.data(), m0.size());
    v.check(m0.data(), m0.size());  // again
    auto m1 = message(sizes, 0, 1);
    v.check(m1.data(), m1.size() - 1);  // truncated
    auto m2 = message(sizes, 0, 2);
    m2.back() ^= std::byte{0x40};
    v.check(m2.data(), m2.size());
    auto other = message(sizes, 1, 3);
    v.check(other.data(), other.size());
    v.check(m0.data(), 4);
    v.report(slot);
    CHECK(slot.errors == 5);
    CHECK(slot.received == 1);
    CHECK_THAT(v.first_error(), Catch::Contains("again"));
  }
}

TEST_CASE("command line") {
  auto ok = parse({"--pattern", "channel", "--senders", "3", "--receivers=4", "--size", "4K-1MiB", "--system",
                   "coipc,pipe", "--repeat", "3", "--quick", "--json", "x.json"});
  REQUIRE(ok.error.empty());
  CHECK(ok.options.pattern == pattern::channel);
  CHECK(*ok.options.senders == 3);
  CHECK(*ok.options.receivers == 4);
  CHECK(ok.options.size->first == 4096);
  CHECK(ok.options.size->second == 1u << 20);
  CHECK(ok.options.systems == std::vector<std::string>{"coipc", "pipe"});
  CHECK_FALSE(ok.options.all_systems);
  CHECK(ok.options.repeat == 3);
  CHECK(ok.options.quick);
  CHECK(parse({"--system", "all"}).options.systems == built_system_names());
  CHECK(parse({"--system", "all"}).options.all_systems);
  CHECK_FALSE(parse({"--size", "7"}).error.empty());
  CHECK_FALSE(parse({"--pattern", "route", "--senders", "2"}).error.empty());
  using range = std::pair<std::uint32_t, std::uint32_t>;
  CHECK(parse({"--size", "64KiB"}).options.size == range{65536, 65536});
  CHECK(parse({"--size", "8-1M"}).options.size == range{8, 1u << 20});
  CHECK(parse({"--size=4k-64KB"}).options.size == range{4096, 65536});
  CHECK_FALSE(parse({"--size", "64Q"}).error.empty());
  CHECK_FALSE(parse({"--size", "K"}).error.empty());
  CHECK(parse({"--help"}).options.help);
  CHECK(parse({"-h"}).options.help);
}

TEST_CASE("a bad value is an error that names its option") {
  const std::vector<std::vector<const char*>> bad{
      {"--senders", "0"}, {"--receivers", "x"}, {"--messages", "-5"}, {"--size", "3"},
      {"--size", "10-5"}, {"--pattern", "nope"}, {"--mode", "fast"},  {"--wait", "maybe"},
      {"--api", "async"}, {"--repeat", "0"},     {"--timeout", "0"},  {"--json", ""},
      {"--memory-channels", "0"}, {"--senders"}};  // the last: no value
  for (const auto& args : bad) {
    INFO(args[0]);
    CHECK_THAT(parse(args).error, Catch::Contains(args[0]));
  }
  CHECK_THAT(parse({"--pattern", "nope"}).error, Catch::Contains("route|channel|pingpong"));
  CHECK_THAT(parse({"--quick=1"}).error, Catch::Contains("quick"));
  CHECK_THAT(parse({"--bogus"}).error, Catch::Contains("--bogus"));
}

TEST_CASE("values mean what they always meant") {
  CHECK(*parse({"--pattern", "channel", "--senders", "010"}).options.senders == 10);  // decimal, not octal
  CHECK(*parse({"--messages", "0100"}).options.messages == 100);
  CHECK(parse({"--size", "010-020K"}).options.size == std::pair<std::uint32_t, std::uint32_t>{10, 20 << 10});
  CHECK_FALSE(parse({"--messages", "0x10"}).error.empty());
  CHECK_FALSE(parse({"--messages", "+5"}).error.empty());
  CHECK_FALSE(parse({"--pattern", "1"}).error.empty());  // a name, not the enum's number
  CHECK(*parse({"--receivers", "2", "--receivers", "3"}).options.receivers == 3);  // the last one given
  CHECK(*parse({"--timeout", "90"}).options.timeout_s == 90);
  CHECK(parse({"--api", "coroutine"}).options.apis == std::vector<api_kind>{api_kind::coroutine});
  CHECK(parse({"--wait=spin"}).options.wait == wait_kind::spin);
  CHECK(parse({"--mode", "thread"}).options.mode == run_mode::thread);
  CHECK(parse({}).options.systems == std::vector<std::string>{"coipc"});
}

TEST_CASE("--api takes a list of APIs or all") {
  using apis = std::vector<api_kind>;
  CHECK(parse({}).options.apis == apis{api_kind::blocking});
  CHECK(parse({"--api", "blocking,coroutine"}).options.apis == apis{api_kind::blocking, api_kind::coroutine});
  CHECK(parse({"--api=coroutine,blocking"}).options.apis == apis{api_kind::coroutine, api_kind::blocking});
  CHECK(parse({"--api", "all"}).options.apis == apis{api_kind::blocking, api_kind::coroutine});
  CHECK(parse({"--api", "coroutine,all"}).options.apis == apis{api_kind::coroutine, api_kind::blocking});
  CHECK(parse({"--api", "blocking,blocking"}).options.apis == apis{api_kind::blocking});  // each once
  for (const char* bad : {"async", "blocking,", ",coroutine", "blocking,,coroutine", "", "blocking,async"}) {
    INFO(bad);
    CHECK_THAT(parse({"--api", bad}).error, Catch::Contains("--api"));
  }
  CHECK_THAT(parse({"--api", "blocking,async"}).error, Catch::Contains("'async'"));
  CHECK_THAT(parse({"--memory-channels", "5", "--api", "all"}).error,
             Catch::Equals("--api does not apply to --memory-channels"));
  // The matrix's cases carry the first; main runs each case once per API.
  for (const auto& c : build_matrix(parse({"--api", "coroutine,blocking"}).options)) CHECK(c.api == api_kind::coroutine);
}

TEST_CASE("--duration: a time per case instead of a count") {
  const options dflt = parse({}).options;
  CHECK(time_based(dflt));
  CHECK(target_duration(dflt) == 0.5);
  CHECK(run_timeout(dflt) == 300);
  const auto two = parse({"--duration", "2.5"});
  REQUIRE(two.error.empty());
  CHECK(time_based(two.options));
  CHECK(target_duration(two.options) == 2.5);
  CHECK(run_timeout(parse({"--duration", "100"}).options) == 460);  // 4 x 100 + 60: room for the run
  CHECK(run_timeout(parse({"--duration", "1", "--timeout", "9"}).options) == 9);
  // A count fixes the count: no calibration.
  CHECK_FALSE(time_based(parse({"--messages", "50"}).options));
  CHECK_FALSE(time_based(parse({"--quick"}).options));
  CHECK(run_timeout(parse({"--quick"}).options) == 30);
  CHECK(run_timeout(parse({"--messages", "50"}).options) == 300);
  CHECK_THAT(parse({"--duration", "1", "--messages", "50"}).error, Catch::Contains("--messages"));
  CHECK_THAT(parse({"--quick", "--duration", "1"}).error, Catch::Contains("--quick"));
  CHECK_THAT(parse({"--duration", "0"}).error, Catch::Contains("--duration"));
  CHECK_THAT(parse({"--duration", "x"}).error, Catch::Contains("--duration"));
  CHECK_THAT(parse({"--duration", "10", "--timeout", "15"}).error, Catch::Contains("--timeout"));
  CHECK(parse({"--duration", "10", "--timeout", "20"}).error.empty());
  CHECK(parse({"--messages", "10", "--timeout", "1"}).error.empty());  // a count: any timeout
  CHECK_THAT(parse({"--memory-channels", "5", "--duration", "1"}).error,
             Catch::Equals("--duration does not apply to --memory-channels"));
}

TEST_CASE("the count of a case sized by time") {
  // 10000 messages in 1 ms: 0.1 us each, so 0.5 s is 5 million, and the margin on top.
  CHECK(count_for(pattern::route, 10'000, 0.001, 0.5, 1.0) == 5'000'000);
  CHECK(count_for(pattern::route, 10'000, 0.001, 0.5) == 6'250'000);
  // Within its bounds: at least 16, at most 2^32 (2^24 round trips).
  CHECK(count_for(pattern::route, 16, 10.0, 0.5) == min_timed_messages);
  CHECK(count_for(pattern::route, 10'000, 0.0, 0.5) == 625'000'000);  // as if 1 ns each
  CHECK(count_for(pattern::channel, 10'000, 1e-9, 3600) == std::uint64_t{1} << 32);
  CHECK(count_for(pattern::pingpong, 1'000, 1e-6, 0.5) == std::uint64_t{1} << 24);
  CHECK(max_timed_messages(pattern::route) <= coipc_payload::seq_mask);  // the stamp keeps 40 bits of seq
  // No byte cap: 1 MiB messages at 0.1 ms each take 0.5 s too (16 MiB for the first run).
  CHECK(first_calibration_messages(pattern::route, 1u << 20) == 16);
  CHECK(count_for(pattern::route, 16, 16 * 1e-4, 0.5, 1.0) == 5000);
  CHECK(first_calibration_messages(pattern::route, 256) == 10'000);
  CHECK(first_calibration_messages(pattern::pingpong, 256) == 1'000);
}

TEST_CASE("calibration runs grow until one is long enough to trust") {
  // 10000 in 1 ms: far too short for 0.5 s; the next aims at 0.1 s (1 million).
  CHECK(next_calibration(pattern::route, 10'000, 0.001, 0.5) == 1'000'000);
  // Long enough (a tenth of the target): size the measured run from it.
  CHECK(next_calibration(pattern::route, 1'000'000, 0.05, 0.5) == 0);
  CHECK(next_calibration(pattern::route, 1'000'000, 0.3, 0.5) == 0);
  // At most 1000-fold a step, also when the run measured nothing; and always more.
  CHECK(next_calibration(pattern::route, 10'000, 0.0, 0.5) == 10'000'000);
  CHECK(next_calibration(pattern::route, 10'000, 1e-9, 0.5) == 10'000'000);
  CHECK(next_calibration(pattern::route, 100, 0.0499, 0.5) == 200);  // 0.1 s at this pace
  CHECK(next_calibration(pattern::route, 100, 0.04999, 1.0) > 100);
  // At the cap there is nothing more to learn.
  CHECK(next_calibration(pattern::pingpong, std::uint64_t{1} << 24, 0.001, 0.5) == 0);
  // A whole sequence, at a steady 0.1 us per message: it ends, with a run of at least a tenth.
  std::uint64_t n = first_calibration_messages(pattern::route, 256), runs = 0;
  double took = 0;
  while (true) {
    ++runs;
    took = static_cast<double>(n) * 1e-7;
    const std::uint64_t next = next_calibration(pattern::route, n, took, 0.5);
    if (next == 0) break;
    CHECK(next > n);
    n = next;
  }
  CHECK(runs == 2);
  CHECK(took >= calibration_enough * 0.5);
  CHECK(count_for(pattern::route, n, took, 0.5) == 6'250'000);
}

TEST_CASE("this build's registry: libc's peers always, every known system built or said why not") {
  const auto& known = known_systems();
  REQUIRE(known.size() == 7);
  for (const char* name : {"coipc", "posix_mq", "uds", "pipe"}) {
    auto it = std::find_if(known.begin(), known.end(), [&](const known_system& s) { return s.name == name; });
    REQUIRE(it != known.end());
    CHECK(it->built());
  }
  // Each built one makes the system of its name (made, not prepared: nothing starts).
  for (const auto& s : known) {
    if (!s.built()) continue;
    INFO(s.name);
    CHECK(s.missing.empty());
    CHECK(s.make()->name() == s.name);
  }
  // The names are the definitions CMake gave (COIPC_BENCH_HAVE_*): the registry and the
  // executable's make_system (system.cpp) see the same ones.
  const std::vector<std::pair<const char*, bool>> peers{
      {"boost_mq", COIPC_BENCH_HAVE_BOOST_MQ != 0},
      {"zmq", COIPC_BENCH_HAVE_ZMQ != 0},
      {"iceoryx", COIPC_BENCH_HAVE_ICEORYX != 0}};
  for (const auto& [name, have] : peers) {
    auto it = std::find_if(known.begin(), known.end(), [&](const known_system& s) { return s.name == name; });
    REQUIRE(it != known.end());
    CHECK(it->built() == have);
    if (!have) CHECK_THAT(it->missing, Catch::EndsWith("not found"));
  }
  CHECK(built_system_names().size() + missing_system_names().size() == known.size());
  CHECK(not_built_line().empty() == missing_system_names().empty());
}

TEST_CASE("--system against a registry with peers missing") {
  const std::vector<known_system> known{{"coipc", no_system, ""},
                                        {"pipe", no_system, ""},
                                        {"zmq", nullptr, "libzmq was not found"},
                                        {"boost_mq", no_system, ""},
                                        {"iceoryx", nullptr, "iox-roudi, the iceoryx daemon, was not found"}};
  // all: the built ones in the registry's order, after any named first, each once.
  auto all = select_systems("all", known);
  REQUIRE(all.error.empty());
  CHECK(all.all);
  CHECK(all.names == std::vector<std::string>{"coipc", "pipe", "boost_mq"});
  auto mixed = select_systems("boost_mq,all,pipe", known);
  REQUIRE(mixed.error.empty());
  CHECK(mixed.names == std::vector<std::string>{"boost_mq", "coipc", "pipe"});
  CHECK_FALSE(select_systems("pipe,coipc", known).all);

  // A known peer not built: said so, with CMake's reason; not "unknown".
  auto zmq = select_systems("coipc,zmq", known);
  CHECK(zmq.error ==
        "system 'zmq' is not built into this coipc-bench: libzmq was not found when it was configured");
  CHECK_THAT(select_systems("iceoryx", known).error, Catch::Contains("not built") && Catch::Contains("iox-roudi"));

  // A name nobody knows stays unknown; nothing at all is an error too.
  CHECK_THAT(select_systems("nope", known).error, Catch::Contains("unknown system"));
  CHECK_THAT(select_systems("coipc,nope", known).error, Catch::Contains("'nope'"));
  CHECK_FALSE(select_systems(",", known).error.empty());

  CHECK(built_system_names(known) == std::vector<std::string>{"coipc", "pipe", "boost_mq"});
  CHECK(missing_system_names(known) == std::vector<std::string>{"zmq", "iceoryx"});
  CHECK(not_built_line(known) ==
        "not built: zmq (libzmq was not found at configure time), "
        "iceoryx (iox-roudi, the iceoryx daemon, was not found at configure time)");
  CHECK(not_built_line({{"coipc", no_system, ""}}).empty());
}

TEST_CASE("a system without native broadcast: the row says so, for every such system alike") {
  case_spec c;
  c.pattern = pattern::channel;
  c.senders = 2;
  c.receivers = 2;
  CHECK(make_system("pipe")->check(c).note == "broadcast: one send per receiver");
  CHECK(make_system("coipc")->check(c).note == "zero-copy (loan/view)");
  c.receivers = 1;
  CHECK(make_system("pipe")->check(c).note.empty());
  c.pattern = pattern::pingpong;
  c.senders = 1;
  CHECK(make_system("pipe")->check(c).note.empty());
}

TEST_CASE("the default matrix, and options narrowing it") {
  const auto all = build_matrix(parse({}).options);
  // route 1->1 (5 sizes, thread at 9-256) + route 1->2 (2) + channel (4) + pingpong (2 modes x 2 waits)
  CHECK(all.size() == 6 + 2 + 4 + 4);
  for (const auto& c : all) CHECK(c.messages == 0);  // sized by time, per system
  const auto quick = build_matrix(parse({"--quick"}).options);
  CHECK(quick.size() == all.size());
  for (const auto& c : quick) {
    CHECK(c.messages >= 16);
    if (c.size_max == 1u << 20) CHECK(c.messages == 16);  // 16 MiB
    if (c.size_max == 256) CHECK(c.messages == (c.pattern == pattern::pingpong ? 1'000 : 10'000));
  }
  CHECK(default_messages(pattern::route, 1u << 20, false) == 1024);  // a fixed count: 1 GiB
  CHECK(default_messages(pattern::route, 256, false) == 100'000);
  const auto one = build_matrix(parse({"--pattern", "channel", "--senders", "3", "--receivers", "2", "--mode",
                                       "thread", "--size", "64", "--messages", "7"})
                                    .options);
  REQUIRE(one.size() == 1);
  CHECK(one[0].senders == 3);
  CHECK(one[0].receivers == 2);
  CHECK(one[0].mode == run_mode::thread);
  CHECK(one[0].messages == 7);
}

TEST_CASE("a JSON line has every field, in order, null where not measured") {
  result r;
  r.spec.system = "pipe";
  r.status = run_status::ok;
  r.note = "a \"quoted\" note";
  r.repeats = 1;
  r.median.us_per_datum = 1.5;
  r.median.msgs_per_s = 1.0 / 3;
  r.median.cpu_s = std::nan("");
  r.median.lost = 0;
  const std::string line = to_json(r);
  CHECK(line.find('\n') == std::string::npos);
  const auto j = read_line(line);
  std::vector<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.push_back(key);
  CHECK(keys == std::vector<std::string>{
                    "system", "pattern", "senders", "receivers", "size_min", "size_max", "messages", "target_s",
                    "calibration_runs", "calibration_messages", "calibration_s", "planned_s", "mode", "api", "wait", "status",
                    "repeats", "run_s", "us_per_datum", "us_per_datum_min", "us_per_datum_max",
                    "msgs_per_s", "deliveries_per_s", "gbytes_per_s", "futex_calls_per_msg", "ctxsw_per_msg",
                    "cpu_s", "lost", "errors", "p50_ns", "p99_ns", "p999_ns", "max_ns", "segment_bytes",
                    "max_rss_kib", "note", "error", "missing_systems"});
  // null survives the writer, as null: never 0 (charts.sh leaves such a point out).
  CHECK(j["p50_ns"].is_null());
  CHECK(j["errors"].is_null());
  CHECK(j["cpu_s"].is_null());  // not a number: null too
  CHECK_THAT(line, Catch::Contains("\"p50_ns\":null"));
  CHECK(j["lost"] == 0);
  CHECK(j["us_per_datum"] == 1.5);
  CHECK_THAT(line, Catch::Contains("\"msgs_per_s\":0.333333,"));  // six significant digits
  CHECK(j["status"] == "ok");
  CHECK(j["note"] == "a \"quoted\" note");
  CHECK(j["missing_systems"] == nlohmann::json::array());
  CHECK(read_line(to_json(r, {"zmq", "iceoryx"}))["missing_systems"] == nlohmann::json{"zmq", "iceoryx"});
  // A fixed count: no target, no calibration.
  CHECK(j["target_s"].is_null());
  CHECK(j["calibration_runs"] == 0);
  CHECK(j["calibration_messages"].is_null());
  CHECK(j["calibration_s"].is_null());
  CHECK(j["planned_s"].is_null());
  CHECK(j["run_s"].is_null());
  // Sized by time: the target and the last calibration run; the count is the measured run's.
  r.spec.messages = 6'250'000;
  r.median.run_s = 0.61;
  r.calibration = calibration{0.5, 1'000'000, 0.1, 2};
  const auto t = read_line(to_json(r));
  CHECK(t["messages"] == 6'250'000);
  CHECK(t["target_s"] == 0.5);
  CHECK(t["calibration_runs"] == 2);
  CHECK(t["calibration_messages"] == 1'000'000);
  CHECK(t["calibration_s"] == 0.1);
  CHECK(t["planned_s"] == 0.625);  // 6,250,000 messages at the calibration's 0.1 us each
  CHECK(t["run_s"] == 0.61);
  r.status = run_status::timeout;
  CHECK(read_line(to_json(r))["status"] == "timeout");
}

TEST_CASE("coipc's memory figures in the JSON line, null where not measured") {
  result r;
  r.spec.system = "coipc";
  r.median.segment_bytes = 290816;
  r.median.max_rss_kib = 5120;
  CHECK(read_line(to_json(r))["segment_bytes"] == 290816);
  CHECK(read_line(to_json(r))["max_rss_kib"] == 5120);
  result peer;
  peer.spec.system = "pipe";
  CHECK(read_line(to_json(peer))["segment_bytes"].is_null());
  CHECK(read_line(to_json(peer))["max_rss_kib"].is_null());
}

TEST_CASE("--memory-channels: its count, its default, what applies to it") {
  auto n = parse({"--memory-channels", "20", "--json", "m.json"});
  REQUIRE(n.error.empty());
  CHECK(*n.options.memory_channels == 20);
  CHECK(*parse({"--memory-channels=7"}).options.memory_channels == 7);
  auto dflt = parse({"--memory-channels", "--messages", "500", "--size", "1K"});
  REQUIRE(dflt.error.empty());
  CHECK(*dflt.options.memory_channels == default_memory_channels);
  CHECK(*dflt.options.messages == 500);
  CHECK(*parse({"--memory-channels"}).options.memory_channels == default_memory_channels);
  CHECK_FALSE(parse({"--memory-channels", "0"}).error.empty());
  CHECK_FALSE(parse({"--memory-channels", "10001"}).error.empty());
  CHECK_FALSE(parse({"--memory-channels", "x"}).error.empty());  // "x" is taken for the count
  CHECK_THAT(parse({"--memory-channels", "5", "--pattern", "route"}).error,
             Catch::Equals("--pattern does not apply to --memory-channels"));
  CHECK_THAT(parse({"--quick", "--memory-channels", "5"}).error,
             Catch::Equals("--quick does not apply to --memory-channels"));
  CHECK_FALSE(parse({"--memory-channels", "5", "--size", "9-256"}).error.empty());
  CHECK_FALSE(parse({}).options.memory_channels);
}

TEST_CASE("the memory report: text and JSON") {
  memory_report r;
  r.channels = 100;
  r.messages = 10000;
  r.size = 256;
  r.max_message_size = 131072;
  r.segment_bytes = 290816;
  r.segments_bytes = 100 * 290816;
  r.tmpfs_delta_bytes = 100 * 290816;
  r.rss_kib = 30 * 1024;
  r.rss_shmem_kib = 27 * 1024;
  r.max_rss_kib = 31 * 1024;
  r.prefix = "cbm42-";
  const std::string text = memory_text(r);
  CHECK_THAT(text, Catch::Contains("segment      284.0 KiB per channel (290816 B; max message 131072 B)\n"));
  CHECK_THAT(text, Catch::Contains("shared       27.73 MiB in segment files (tmpfs used +27.73 MiB)\n"));
  CHECK_THAT(text, Catch::Contains("total        57.73 MiB shared + resident (0.577 MiB per channel)\n"));
  CHECK_THAT(text, Catch::EndsWith("segments coipc.cbm42-0 .. coipc.cbm42-99: removed\n"));
  const auto j = read_line(to_json(r));
  CHECK(j.begin().key() == "scenario");
  CHECK(j["scenario"] == "memory");
  CHECK(j["system"] == "coipc");
  CHECK(j["status"] == "ok");
  CHECK(j["channels"] == 100);
  CHECK(j["shm_mib"] == 27.734);  // MiB to the thousandth
  CHECK(j["tmpfs_delta_mib"] == 27.734);
  CHECK(j["rss_mib"] == 30.0);
  CHECK(j["max_rss_kib"] == 31744);
  CHECK(j["total_mib"] == 57.734);
  CHECK(j["segment_prefix"] == "cbm42-");
  CHECK(j["error"] == "");
  r.status = run_status::failed;
  r.error = "opening channel 3 of 100: no space";
  CHECK_THAT(memory_text(r), Catch::Contains("\nfailed: opening channel 3 of 100: no space\n"));
}
