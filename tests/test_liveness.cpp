// Telling a dead peer from a live one where /proc cannot (see "Crashes" in ring.cpp): every
// slot's owner holds the slot's lock, which the kernel releases when the owner dies.
//
// Each test forces platform::is_alive to answer "alive" for every process (the fault
// module's forced verdict), as it must when nothing proves a death: a dead peer's pid
// reused by another user's process under hidepid. Then only the slot locks can tell:
//   - a dead receiver holding a full ring is evicted: the blocked sender goes on;
//   - a dead sender's unpublished claim is settled: the receivers get the next message;
//   - a newcomer takes a dead peer's slot: a full channel, a route, are not lost to it;
//   - a live receiver that is stopped keeps its lock: it is never evicted, its sender waits.
// The peers are real processes, killed with a real SIGKILL.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include "support/processes.hpp"

import coipc;
import coipc_test_support;

using coipc_test::flag;

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

constexpr auto stall = 50ms;
// "Within a few stall timeouts": the first stall check decides; the margin is for a
// loaded two-core machine. A wait for a peer that is never judged dead lasts the full
// call timeout (twice this), which fails the test.
constexpr auto settles_within = 1000ms;
constexpr auto call_timeout = 2000ms;

coipc::channel_options small_ring(std::uint32_t receivers = 4) {
  coipc::channel_options o;
  o.capacity = 4096;  // 64 units of 64 B
  o.max_message_size = 1024;
  o.max_receivers = receivers;
  o.max_senders = 4;
  o.stall_timeout = stall;
  return o;
}


// While it lives, this process's liveness checks cannot prove any death.
struct liveness_unknown {
  liveness_unknown() { coipc::detail::fault::force_liveness_unknown(true); }
  ~liveness_unknown() { coipc::detail::fault::force_liveness_unknown(false); }
  liveness_unknown(const liveness_unknown&) = delete;
  liveness_unknown& operator=(const liveness_unknown&) = delete;
};

// Kills the child and reaps it: dead beyond doubt, its descriptors (and locks) gone.
void kill_and_reap(coipc_test::child_process& child) {
  child.kill9();
  REQUIRE(child.wait(30s) == 128 + SIGKILL);
}

std::string numbered(int i) { return "m" + std::to_string(i); }

}  // namespace

// ---- children ---------------------------------------------------------------------------

COIPC_CHILD(liveness_parked_receiver) {
  // args: name, max receivers. Connects as a receiver, says so, and never reads.
  coipc::channel<coipc::bytes> rx(args.at(0), coipc::role::receiver,
                                  small_ring(static_cast<std::uint32_t>(std::stoul(args.at(1)))));
  flag(args.at(0) + ".ready").raise(1);
  for (;;) ::pause();
}

COIPC_CHILD(liveness_claiming_sender) {
  // args: name, "route" or "channel". Claims space (a loan) and hangs: when killed, a dead
  // sender's unpublished claim.
  const std::string& name = args.at(0);
  if (args.at(1) == "route") {
    coipc::route<coipc::bytes> tx(name, coipc::role::sender, small_ring());
    auto l = tx.loan(100);
    flag(name + ".ready").raise(1);
    for (;;) ::pause();
  }
  coipc::channel<coipc::bytes> tx(name, coipc::role::sender, small_ring());
  auto l = tx.loan(100);
  flag(name + ".ready").raise(1);
  for (;;) ::pause();
}

COIPC_CHILD(liveness_ordered_receiver) {
  // args: name. Receives "m0", "m1", ... until "end", counting them in the flag
  // <name>.count. Exit 0: every message, in order; 2: a gap or a stranger; 3: a timeout.
  const std::string& name = args.at(0);
  coipc::channel<coipc::bytes> rx(name, coipc::role::receiver, small_ring());
  flag count(name + ".count");
  flag(name + ".ready").raise(1);
  for (int expected = 0;; ++expected) {
    std::error_code ec;
    auto m = rx.recv_for(30s, ec);
    if (!m) return 3;
    if (m->text() == "end") return 0;
    if (m->text() != numbered(expected)) {
      std::fprintf(stderr, "ordered receiver: expected %s, got %.*s\n", numbered(expected).c_str(),
                   static_cast<int>(m->text().size()), m->text().data());
      return 2;
    }
    count.raise(static_cast<std::uint32_t>(expected + 1));
  }
}

// ---- the dead are told by their free locks -----------------------------------------------

TEST_CASE("a dead receiver that /proc cannot prove dead is evicted: its slot lock is free") {
  const std::string name = coipc_test::unique_name("lockrx");
  coipc_test::cleanup c{name}, cr{name + ".ready"};
  flag ready(name + ".ready");
  coipc::channel<coipc::bytes> tx(name, coipc::role::sender, small_ring());
  auto child = coipc_test::spawn("liveness_parked_receiver", {name, "4"});
  REQUIRE(ready.wait_for(1, 30s));
  REQUIRE(tx.receiver_count() == 1);
  // The receiver never reads: fill the ring (block policy).
  std::error_code ec;
  const std::string payload(100, 'x');
  while (tx.try_send(payload, ec)) {
  }
  REQUIRE(ec == coipc::errc::would_block);

  kill_and_reap(child);
  liveness_unknown unknown;
  REQUIRE(coipc::platform::is_alive({static_cast<std::uint32_t>(child.pid()), 1}));  // forced

  const auto t0 = steady::now();
  tx.send_for(payload, call_timeout, ec);
  const auto took = steady::now() - t0;
  REQUIRE_FALSE(ec);  // the dead receiver no longer holds the ring
  CHECK(took < settles_within);
  CHECK(tx.receiver_count() == 0);
}

TEST_CASE("a dead sender's claim that /proc cannot prove dead is settled: its slot lock is free") {
  const std::string name = coipc_test::unique_name("locktx");
  coipc_test::cleanup c{name}, cr{name + ".ready"};
  flag ready(name + ".ready");
  coipc::channel<coipc::bytes> rx(name, coipc::role::receiver, small_ring());
  // Our sender first: the child gets another slot, so that only a stall check (not our
  // connecting over its slot) can settle its claim.
  coipc::channel<coipc::bytes> tx(name, coipc::role::sender, small_ring());
  auto child = coipc_test::spawn("liveness_claiming_sender", {name, "channel"});
  REQUIRE(ready.wait_for(1, 30s));
  kill_and_reap(child);
  liveness_unknown unknown;

  tx.send("after the dead claim");
  std::error_code ec;
  const auto t0 = steady::now();
  auto m = rx.recv_for(call_timeout, ec);
  const auto took = steady::now() - t0;
  REQUIRE_FALSE(ec);  // the dead claim was abandoned
  REQUIRE(m.has_value());
  CHECK(m->text() == "after the dead claim");
  CHECK(took < settles_within);
}

TEST_CASE("a newcomer takes the slot of a dead peer that /proc cannot prove dead") {
  const std::string name = coipc_test::unique_name("locknew");
  coipc_test::cleanup c{name}, cr{name + ".ready"};
  flag ready(name + ".ready");
  std::error_code ec;
  SECTION("the only receiver slot") {
    auto child = coipc_test::spawn("liveness_parked_receiver", {name, "1"});
    REQUIRE(ready.wait_for(1, 30s));
    kill_and_reap(child);
    liveness_unknown unknown;
    coipc::channel<coipc::bytes> rx(name, coipc::role::receiver, small_ring(1), ec);
    REQUIRE_FALSE(ec);  // not "all receiver slots are taken by live processes"
    CHECK(rx.receiver_count() == 1);
  }
  SECTION("a route's sender slot, and the dead sender's claim with it") {
    coipc::route<coipc::bytes> rx(name, coipc::role::receiver, small_ring());
    auto child = coipc_test::spawn("liveness_claiming_sender", {name, "route"});
    REQUIRE(ready.wait_for(1, 30s));
    kill_and_reap(child);
    liveness_unknown unknown;
    coipc::route<coipc::bytes> tx(name, coipc::role::sender, small_ring(), ec);
    REQUIRE_FALSE(ec);  // not "already has a live sender"
    tx.send("from the newcomer");
    auto m = rx.recv_for(call_timeout, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(m.has_value());
    CHECK(m->text() == "from the newcomer");
  }
}

// ---- the living keep their locks ---------------------------------------------------------

TEST_CASE("a stopped live receiver keeps its slot lock: it is never evicted, its sender waits") {
  const std::string name = coipc_test::unique_name("lockstop");
  coipc_test::cleanup c{name}, cr{name + ".ready"}, cc{name + ".count"};
  flag ready(name + ".ready");
  flag count(name + ".count");
  coipc::channel<coipc::bytes> tx(name, coipc::role::sender, small_ring());
  auto child = coipc_test::spawn("liveness_ordered_receiver", {name});
  REQUIRE(ready.wait_for(1, 30s));
  std::error_code ec;
  int sent = 0;
  for (; sent < 10; ++sent) REQUIRE(tx.send_for(numbered(sent), 5s, ec));
  REQUIRE(count.wait_for(10, 30s));  // it has read them all: parked, waiting for more

  REQUIRE(::kill(child.pid(), SIGSTOP) == 0);
  int status = 0;
  REQUIRE(::waitpid(child.pid(), &status, WUNTRACED) == child.pid());
  REQUIRE(WIFSTOPPED(status));
  liveness_unknown unknown;
  while (tx.try_send(numbered(sent), ec)) ++sent;
  REQUIRE(ec == coipc::errc::would_block);  // a full ring

  // Ten stall timeouts: the sender checks the receiver again and again; /proc cannot say,
  // the lock says alive. It keeps waiting.
  const auto t0 = steady::now();
  const bool sent_while_stopped = tx.send_for(numbered(sent), 10 * stall, ec);
  const auto waited = steady::now() - t0;
  const auto timeout_error = ec;
  const auto receivers_while_stopped = tx.receiver_count();
  tx.try_send(numbered(sent), ec);
  const auto try_error = ec;

  REQUIRE(::kill(child.pid(), SIGCONT) == 0);
  // Every message reaches it, in order: it never lost its place.
  const int before_stop = sent;
  for (; sent < before_stop + 100; ++sent) REQUIRE(tx.send_for(numbered(sent), 5s, ec));
  REQUIRE(tx.send_for("end", 5s, ec));
  const auto exit_status = child.wait(30s);

  CHECK_FALSE(sent_while_stopped);
  CHECK(timeout_error == coipc::errc::timeout);
  CHECK(waited >= 10 * stall);
  CHECK(receivers_while_stopped == 1);
  CHECK(try_error == coipc::errc::would_block);
  CHECK(exit_status == 0);
  CHECK(count.value() == static_cast<std::uint32_t>(sent));
}
