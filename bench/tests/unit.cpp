// Unit tests of coipc-bench's own logic: the payload stamp and its checks (every system's
// results rest on them), the command line, the registry of systems, the matrix, the JSON
// line, the memory scenario's report.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "json.hpp"
#include "loops.hpp"
#include "matrix.hpp"
#include "memory.hpp"
#include "options.hpp"
#include "payload.hpp"
#include "registry.hpp"

using namespace bench;

namespace {

std::vector<std::byte> message(const size_table& sizes, std::uint32_t sender, std::uint64_t seq) {
  std::vector<std::byte> m(sizes.at(sender, seq), std::byte{0x5a});
  stamp(m.data(), m.size(), sender, seq);
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
    stamp(m.data(), size, 3, 123456789);
    const header h = read_header(m.data());
    CHECK(h.sender == 3);
    CHECK(h.seq == 123456789);
    CHECK(intact(m.data(), size, h));
    if (size > 8) {
      m[size - 1] ^= std::byte{1};
      CHECK_FALSE(intact(m.data(), size, h));
    }
    CHECK_FALSE(intact(m.data(), size + 1, h));  // the size is part of the check
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
  CHECK(*parse_bytes("64KiB") == 65536);
  CHECK_FALSE(parse_bytes("64Q"));
}

TEST_CASE("this build's registry: libc's peers always, every known system built or said why not") {
  const auto& known = known_systems();
  REQUIRE(known.size() == 7);
  for (const char* name : {"coipc", "posix_mq", "uds", "pipe"}) {
    auto it = std::find_if(known.begin(), known.end(), [&](const known_system& s) { return s.name == name; });
    REQUIRE(it != known.end());
    CHECK(it->built());
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
  const std::vector<known_system> known{{"coipc", ""},
                                        {"pipe", ""},
                                        {"zmq", "libzmq was not found"},
                                        {"boost_mq", ""},
                                        {"iceoryx", "iox-roudi, the iceoryx daemon, was not found"}};
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
  CHECK(not_built_line({{"coipc", ""}}).empty());
}

TEST_CASE("the default matrix, and options narrowing it") {
  const auto all = build_matrix(parse({}).options);
  // route 1->1 (5 sizes, thread at 9-256) + route 1->2 (2) + channel (4) + pingpong (2 modes x 2 waits)
  CHECK(all.size() == 6 + 2 + 4 + 4);
  for (const auto& c : all) {
    CHECK(c.messages >= 16);
    if (c.size_max == 1u << 20) CHECK(c.messages == 1024);
  }
  const auto one = build_matrix(parse({"--pattern", "channel", "--senders", "3", "--receivers", "2", "--mode",
                                       "thread", "--size", "64", "--messages", "7"})
                                    .options);
  REQUIRE(one.size() == 1);
  CHECK(one[0].senders == 3);
  CHECK(one[0].receivers == 2);
  CHECK(one[0].mode == run_mode::thread);
  CHECK(one[0].messages == 7);
}

TEST_CASE("a JSON line has every field, null where not measured") {
  result r;
  r.spec.system = "pipe";
  r.status = "ok";
  r.note = "a \"quoted\" note";
  r.repeats = 1;
  r.median.us_per_datum = 1.5;
  r.median.lost = 0;
  const std::string j = to_json(r);
  for (const char* key : {"system", "pattern", "senders", "receivers", "size_min", "size_max", "messages", "mode",
                          "api", "us_per_datum", "msgs_per_s", "gbytes_per_s", "futex_calls_per_msg", "lost",
                          "p50_ns", "p99_ns"})
    CHECK_THAT(j, Catch::Contains(std::string("\"") + key + "\": "));
  CHECK_THAT(j, Catch::Contains("\"p50_ns\": null"));
  CHECK_THAT(j, Catch::Contains("\"us_per_datum\": 1.5"));
  CHECK_THAT(j, Catch::Contains("a \\\"quoted\\\" note"));
  CHECK_THAT(j, Catch::EndsWith(", \"missing_systems\": []}"));
  CHECK_THAT(to_json(r, {"zmq", "iceoryx"}), Catch::EndsWith(", \"missing_systems\": [\"zmq\", \"iceoryx\"]}"));
}

TEST_CASE("coipc's memory figures in the JSON line, null where not measured") {
  result r;
  r.spec.system = "coipc";
  r.status = "ok";
  r.median.segment_bytes = 290816;
  r.median.max_rss_kib = 5120;
  CHECK_THAT(to_json(r), Catch::Contains("\"segment_bytes\": 290816, \"max_rss_kib\": 5120, \"note\""));
  result peer;
  peer.spec.system = "pipe";
  CHECK_THAT(to_json(peer), Catch::Contains("\"segment_bytes\": null, \"max_rss_kib\": null"));
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
  CHECK_FALSE(parse({"--memory-channels", "x"}).error.empty());  // then "x" is an unknown argument
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
  const std::string j = to_json(r);
  CHECK_THAT(j, Catch::StartsWith("{\"scenario\": \"memory\", \"system\": \"coipc\", \"status\": \"ok\", "
                                  "\"channels\": 100, "));
  CHECK_THAT(j, Catch::Contains("\"shm_mib\": 27.734, \"tmpfs_delta_mib\": 27.734, \"rss_mib\": 30.000, "));
  CHECK_THAT(j, Catch::Contains("\"max_rss_kib\": 31744, \"total_mib\": 57.734, "));
  CHECK_THAT(j, Catch::EndsWith("\"segment_prefix\": \"cbm42-\", \"error\": \"\"}"));
  r.status = "failed";
  r.error = "opening channel 3 of 100: no space";
  CHECK_THAT(memory_text(r), Catch::Contains("\nfailed: opening channel 3 of 100: no space\n"));
}
