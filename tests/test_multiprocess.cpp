// route and channel between real processes (fork + exec): stress with every byte checked,
// the overwrite policy's loss accounting, lost wake-ups under a watchdog, wake avoidance.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <map>
#include <thread>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "support/payload.hpp"
#include "support/processes.hpp"

import coipc;
import coipc_test_support;

using namespace std::chrono_literals;

namespace {

/// The size of a sender's message number `seq`: mostly small (the reference workload's
/// 9..256 B), every 97th large, and exactly 0 and `max` regularly.
std::size_t message_size(std::uint32_t seq, std::size_t max) {
  if (seq % 101 == 0) return 0;
  if (seq % 103 == 0) return max;
  if (seq % 97 == 0) return (std::size_t{seq} * 7919u) % (max + 1);
  return 9 + (std::size_t{seq} * 2654435761u >> 7) % 248;
}

/// Whether `m` is message `seq` of the sender in slot `sender`, every byte of it. The
/// sizes go down to 0, below the payload's header: such a message is checked against what
/// the receiver knows it must be (coipc_payload::matches), not by itself.
bool is_message(std::span<const std::byte> m, std::uint32_t sender, std::uint32_t seq, std::size_t max) {
  return m.size() == message_size(seq, max) && coipc_payload::matches(m, sender, seq, sender);
}

// Scenario parameters travel to children as argv.
struct scenario {
  std::string name;
  std::string kind = "channel";  // route | channel
  std::uint32_t senders = 1, receivers = 1, per_sender = 20000;
  std::size_t max_size = 4096, capacity = 64 * 1024;
  bool overwrite = false;
  bool park_always = false;  // no spinning: every wait parks (lost wake-up hunting)

  std::vector<std::string> args() const {
    return {name, kind, std::to_string(senders), std::to_string(receivers),
            std::to_string(per_sender), std::to_string(max_size), std::to_string(capacity),
            overwrite ? "1" : "0", park_always ? "1" : "0"};
  }
  static scenario from(const std::vector<std::string>& a) {
    scenario s;
    s.name = a.at(0);
    s.kind = a.at(1);
    s.senders = std::stoul(a.at(2));
    s.receivers = std::stoul(a.at(3));
    s.per_sender = std::stoul(a.at(4));
    s.max_size = std::stoul(a.at(5));
    s.capacity = std::stoul(a.at(6));
    s.overwrite = a.at(7) == "1";
    s.park_always = a.at(8) == "1";
    return s;
  }
  coipc::channel_options options() const {
    coipc::channel_options o;
    o.capacity = capacity;
    o.max_message_size = max_size;
    o.overflow = overwrite ? coipc::overflow_policy::overwrite : coipc::overflow_policy::block;
    if (park_always) o.spin = {0, 0};
    return o;
  }
};

// Runs `body` on a route or a channel of bytes, as the scenario says.
template <class F>
int with_endpoint(const scenario& s, coipc::role role, F&& body) {
  if (s.kind == "route") {
    coipc::route<coipc::bytes> ep(s.name, role, s.options());
    return body(ep);
  }
  coipc::channel<coipc::bytes> ep(s.name, role, s.options());
  return body(ep);
}

// Prints the stats line the parent parses: "stats <futex_waits> <futex_wakes>".
void print_stats(const coipc::channel_stats& st) {
  std::printf("stats %llu %llu\n", static_cast<unsigned long long>(st.futex_waits),
              static_cast<unsigned long long>(st.futex_wakes));
  std::fflush(stdout);
}

}  // namespace

COIPC_CHILD(stress_sender) {
  scenario s = scenario::from(args);
  return with_endpoint(s, coipc::role::sender, [&](auto& tx) {
    if (!tx.wait_for_receivers(s.receivers, 60s)) return 3;
    std::vector<std::byte> buf(s.max_size);
    auto send_seq = [&](std::uint32_t seq) {
      std::span<std::byte> msg(buf.data(), message_size(seq, s.max_size));
      coipc_payload::fill(msg, tx.sender_id(), seq, tx.sender_id());
      tx.send(std::span<const std::byte>(msg));
    };
    for (std::uint32_t seq = 0; seq < s.per_sender; ++seq) send_seq(seq);
    if (s.overwrite) {
      // Losses show as gaps before a sender's next message, so each sender ends with one
      // more message, sent once every sender is done (nothing can lap it then).
      // The senders count themselves done in a flag shared by all of them.
      const coipc_test::flag done(s.name + ".done");
      done.add(1);
      while (done.value() < s.senders) std::this_thread::sleep_for(1ms);
      send_seq(s.per_sender);
    }
    return 0;
  });
}

COIPC_CHILD(stress_receiver) {
  scenario s = scenario::from(args);
  return with_endpoint(s, coipc::role::receiver, [&](auto& rx) {
    std::map<std::uint32_t, std::uint32_t> next;  // sender slot id -> expected sequence
    std::uint64_t received = 0;
    const std::uint64_t total = std::uint64_t{s.senders} * s.per_sender;
    auto done = [&] {
      if (!s.overwrite) return received == total;
      // Under overwrite: every sender's closing message seen (see stress_sender).
      if (next.size() < s.senders) return false;
      for (auto& [id, n] : next) {
        if (n != s.per_sender + 1) return false;
      }
      return true;
    };
    while (!done()) {
      coipc::message m = rx.recv();
      std::uint32_t& expected = next[m.sender];
      // Under overwrite a gap is a loss (counted by lost()); order must still hold.
      std::uint32_t seq = expected;
      if (s.overwrite) {
        // Find the sequence number this message has: the smallest >= expected that fits.
        while (seq <= s.per_sender &&
               !is_message(m.data, m.sender, seq, s.max_size)) {
          ++seq;
        }
      }
      if (seq > s.per_sender || !is_message(m.data, m.sender, seq, s.max_size)) {
        std::fprintf(stderr, "receiver: bad message from sender %u: expected seq %u, size %zu\n",
                     m.sender, expected, m.data.size());
        return 4;
      }
      expected = seq + 1;
      ++received;
    }
    if (next.size() != s.senders) return 5;
    if (s.overwrite && received + rx.lost() != total + s.senders) {
      std::fprintf(stderr, "receiver: received %llu + lost %llu != sent %llu\n",
                   static_cast<unsigned long long>(received),
                   static_cast<unsigned long long>(rx.lost()),
                   static_cast<unsigned long long>(total + s.senders));
      return 6;
    }
    if (!s.overwrite && rx.lost() != 0) return 7;
    std::printf("received %llu lost %llu\n", static_cast<unsigned long long>(received),
                static_cast<unsigned long long>(rx.lost()));
    print_stats(rx.stats());
    return 0;
  });
}

namespace {
// Starts receivers first, then senders; waits for all under a watchdog.
void run_scenario(const scenario& s, std::chrono::seconds watchdog = 120s) {
  coipc_test::cleanup c{s.name};
  coipc_test::cleanup c_done{s.name + ".done"};
  std::vector<coipc_test::child_process> children;
  for (std::uint32_t i = 0; i < s.receivers; ++i) children.push_back(coipc_test::spawn("stress_receiver", s.args()));
  for (std::uint32_t i = 0; i < s.senders; ++i) children.push_back(coipc_test::spawn("stress_sender", s.args()));
  auto deadline = std::chrono::steady_clock::now() + watchdog;
  for (auto& child : children) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto status = child.wait(std::max(left, std::chrono::milliseconds(1)));
    if (!status) FAIL("watchdog: a child hung (lost wake-up or deadlock), pid " << child.pid());
    CHECK(*status == 0);
  }
}
}  // namespace

TEST_CASE("stress - route 1->1: sizes 0..max - every byte checked") {
  scenario s;
  s.name = coipc_test::unique_name("st11");
  s.kind = "route";
  s.per_sender = 50000;
  run_scenario(s);
}

TEST_CASE("stress - route 1->4") {
  scenario s;
  s.name = coipc_test::unique_name("st14");
  s.kind = "route";
  s.receivers = 4;
  s.per_sender = 20000;
  run_scenario(s);
}

TEST_CASE("stress - channel 4->4: one order - per-sender order - every byte") {
  scenario s;
  s.name = coipc_test::unique_name("st44");
  s.senders = 4;
  s.receivers = 4;
  s.per_sender = 10000;
  run_scenario(s);
}

TEST_CASE("stress - maximum-size messages through a ring only twice their size") {
  scenario s;
  s.name = coipc_test::unique_name("stmax");
  s.kind = "route";
  s.receivers = 2;
  s.max_size = 32 * 1024;
  s.capacity = 64 * 1024;
  s.per_sender = 5000;
  run_scenario(s);
}

TEST_CASE("overwrite - channel 2->2: received + lost = sent for each receiver") {
  scenario s;
  s.name = coipc_test::unique_name("ovw22");
  s.senders = 2;
  s.receivers = 2;
  s.per_sender = 20000;
  s.capacity = 8192;
  s.max_size = 1024;
  s.overwrite = true;
  run_scenario(s);
}

TEST_CASE("lost wake-ups: every wait parks - bursts - senders and receivers both parked") {
  // No spinning at all, a ring of 64 units: receivers park whenever the ring is empty and
  // senders whenever it is full, many thousands of times each; a lost wake-up hangs a
  // child and trips the watchdog.
  scenario s;
  s.name = coipc_test::unique_name("wake");
  s.senders = 2;
  s.receivers = 2;
  s.per_sender = 30000;
  s.capacity = 4096;
  s.max_size = 256;
  s.park_always = true;
  run_scenario(s, 180s);
}

COIPC_CHILD(never_parking_receiver) {
  // args: name, count. Never parks: its spin policy yields instead, for as long as it takes.
  coipc::channel_options o;
  o.spin = {6, 0xffffffffu};
  coipc::route<std::uint64_t> rx(args[0], coipc::role::receiver, o);
  const std::uint64_t n = std::stoull(args[1]);
  for (std::uint64_t i = 0; i < n; ++i) {
    if (rx.recv() != i) return 4;
  }
  print_stats(rx.stats());
  return 0;
}

TEST_CASE("wake avoidance: while nobody parks no futex call is ever made") {
  // The notifier issues FUTEX_WAKE only when a waiter has announced itself. With a
  // receiver and a sender that never park (they yield instead), 200,000 messages must
  // cost exactly zero futex waits and zero wakes, whatever the scheduling. (How few wakes
  // a parking receiver costs per message is a measurement: coipc-bench reports it.)
  std::string name = coipc_test::unique_name("avoid");
  coipc_test::cleanup c{name};
  constexpr std::uint64_t n = 200000;
  coipc::channel_options o;
  o.spin = {6, 0xffffffffu};
  coipc::route<std::uint64_t> tx(name, coipc::role::sender, o);
  auto child = coipc_test::spawn("never_parking_receiver", {name, std::to_string(n)});
  REQUIRE(tx.wait_for_receivers(1, 30s));
  for (std::uint64_t i = 0; i < n; ++i) tx.send(i);
  REQUIRE(child.wait(60s) == 0);
  auto st = tx.stats();
  CHECK(st.futex_waits == 0);
  CHECK(st.futex_wakes == 0);
}
