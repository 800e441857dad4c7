// The ring layer on its own, below channel<T>: endpoints claim, commit, abandon, and read
// frames (begin_read / end_read) directly, so that its rules are checked where they live.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "support/processes.hpp"

import coipc;
import coipc_test_support;

using namespace std::chrono_literals;
using coipc::detail::endpoint;
using coipc::detail::frame_ref;
using coipc::detail::ring_options;
using coipc::detail::wait_mode;

namespace {

// 64 units of 64 B.
ring_options small(coipc::overflow_policy policy = coipc::overflow_policy::block) {
  ring_options o;
  o.kind = coipc::detail::channel_kind::channel;
  o.policy = policy;
  o.capacity = 4096;
  o.max_message_size = 1024;
  o.max_receivers = 2;
  o.max_senders = 2;
  o.stall_timeout = 50ms;
  return o;
}

endpoint open_as(const std::string& name, bool sender, bool receiver, const ring_options& o) {
  endpoint ep;
  std::error_code ec;
  ep.open(name, coipc::bytes_fingerprint(), o, sender, receiver, ec);
  REQUIRE_FALSE(ec);
  return ep;
}

void send_bytes(endpoint& tx, std::size_t length, std::byte fill) {
  std::vector<std::byte> payload(length, fill);
  std::error_code ec;
  REQUIRE(tx.send(payload, wait_mode::forever(), ec));
}

}  // namespace

TEST_CASE("ring: a claim is no message until committed - an abandoned one is skipped") {
  const std::string name = coipc_test::unique_name("ringclaim");
  coipc_test::cleanup c{name};
  endpoint rx = open_as(name, false, true, small());
  endpoint tx = open_as(name, true, false, small());
  std::error_code ec;

  frame_ref claim;
  REQUIRE(tx.claim(100, wait_mode::try_once(), claim, ec));
  std::memset(claim.data, 0x5a, 100);
  frame_ref f;
  CHECK_FALSE(rx.begin_read(wait_mode::try_once(), f, ec));  // claimed, not published
  CHECK(ec == coipc::errc::would_block);
  tx.abandon(claim);

  send_bytes(tx, 10, std::byte{7});
  REQUIRE(rx.begin_read(wait_mode::try_once(), f, ec));  // the abandoned frame is skipped
  CHECK(f.length == 10);
  CHECK(f.data[0] == std::byte{7});
  CHECK(rx.end_read(f));
  CHECK_FALSE(rx.begin_read(wait_mode::try_once(), f, ec));
}

TEST_CASE("ring: a frame never wraps - the end of a lap is padding") {
  const std::string name = coipc_test::unique_name("ringpad");
  coipc_test::cleanup c{name};
  endpoint rx = open_as(name, false, true, small());
  endpoint tx = open_as(name, true, false, small());
  std::error_code ec;
  constexpr std::uint64_t ring_units = 4096 / 64;
  // Frames of 10 and 16 units in a 64-unit ring: they keep landing across the end of a
  // lap (at 58, a 16-unit frame would end at 74) unless padding moves them to the next.
  for (int round = 0; round < 40; ++round) {
    const std::size_t length = round % 3 == 0 ? 600 : 1000;  // 10 units, 16 units
    send_bytes(tx, length, static_cast<std::byte>(round));
    frame_ref f;
    REQUIRE(rx.begin_read(wait_mode::try_once(), f, ec));
    CHECK(f.length == length);
    CHECK(f.position % ring_units + f.units <= ring_units);  // within one lap
    CHECK(f.data[length - 1] == static_cast<std::byte>(round));
    CHECK(rx.end_read(f));
  }
}

TEST_CASE("ring: under overwrite a lapped reader skips ahead - and counts every loss per sender") {
  const std::string name = coipc_test::unique_name("ringlap");
  coipc_test::cleanup c{name};
  const ring_options o = small(coipc::overflow_policy::overwrite);
  endpoint rx = open_as(name, false, true, o);
  endpoint a = open_as(name, true, false, o);
  endpoint b = open_as(name, true, false, o);
  // 300 one-unit frames, alternately from two senders, into a 64-unit ring.
  for (int i = 0; i < 150; ++i) {
    send_bytes(a, 8, std::byte{1});
    send_bytes(b, 8, std::byte{2});
  }
  std::error_code ec;
  std::uint64_t received = 0;
  frame_ref f;
  while (rx.begin_read(wait_mode::try_once(), f, ec)) {
    if (rx.end_read(f)) ++received;
  }
  CHECK(received > 0);
  CHECK(received <= 64);
  CHECK(received + rx.lost() == 300);
}

TEST_CASE("ring: a view read in place and found intact counts as received even if lapped later") {
  const std::string name = coipc_test::unique_name("ringintact");
  coipc_test::cleanup c{name};
  const ring_options o = small(coipc::overflow_policy::overwrite);
  endpoint rx = open_as(name, false, true, o);
  endpoint tx = open_as(name, true, false, o);
  std::error_code ec;
  send_bytes(tx, 8, std::byte{1});
  frame_ref f;
  REQUIRE(rx.begin_read(wait_mode::try_once(), f, ec));
  REQUIRE(rx.intact(f));
  for (int i = 0; i < 100; ++i) send_bytes(tx, 8, std::byte{2});  // laps the frame being read
  CHECK_FALSE(rx.intact(f));
  CHECK(rx.end_read(f, /*known_intact=*/true));  // the reader had it whole
  std::uint64_t received = 1;
  while (rx.begin_read(wait_mode::try_once(), f, ec)) {
    if (rx.end_read(f)) ++received;
  }
  CHECK(received + rx.lost() == 101);
}
