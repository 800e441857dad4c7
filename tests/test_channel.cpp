// route<T> and channel<T> within one process: semantics, API, errors.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <vector>
#include <array>

#include "support/payload.hpp"
#include "support/processes.hpp"

import coipc;
import coipc_test_support;

using namespace std::chrono_literals;

namespace {
using coipc_test::Pose;
using coipc_test::Reading;

}  // namespace

TEST_CASE("route: every receiver gets every message - in order") {
  std::string name = coipc_test::unique_name("route");
  coipc_test::cleanup c{name};
  coipc::route<Reading> tx(name, coipc::role::sender);
  coipc::route<Reading> rx1(name, coipc::role::receiver);
  coipc::route<Reading> rx2(name, coipc::role::receiver);
  CHECK(tx.receiver_count() == 2);
  for (std::uint64_t i = 0; i < 100; ++i) tx.send(Reading{i * 0.5, i, 7});
  for (auto* rx : {&rx1, &rx2}) {
    for (std::uint64_t i = 0; i < 100; ++i) {
      Reading r = rx->recv();
      CHECK(r.stamp == i);
      CHECK(r.value == i * 0.5);
    }
    CHECK_FALSE(rx->try_recv().has_value());
  }
}

TEST_CASE("a receiver gets only messages sent after it connected") {
  std::string name = coipc_test::unique_name("late");
  coipc_test::cleanup c{name};
  coipc::route<std::uint64_t> tx(name, coipc::role::sender);
  tx.send(1);
  coipc::route<std::uint64_t> rx(name, coipc::role::receiver);
  CHECK_FALSE(rx.try_recv().has_value());
  tx.send(2);
  CHECK(rx.recv() == 2);
}

TEST_CASE("try and timed calls") {
  std::string name = coipc_test::unique_name("timed");
  coipc_test::cleanup c{name};
  coipc::channel_options o;
  o.capacity = 4096;  // 64 frames of one unit
  coipc::route<std::uint64_t> tx(name, coipc::role::sender, o);
  coipc::route<std::uint64_t> rx(name, coipc::role::receiver, o);
  std::error_code ec;
  CHECK_FALSE(rx.try_recv(ec).has_value());
  CHECK(ec == coipc::errc::would_block);
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(rx.recv_for(30ms).has_value());
  CHECK(std::chrono::steady_clock::now() - t0 >= 25ms);
  CHECK_FALSE(rx.recv_for(1ms, ec).has_value());
  CHECK(ec == coipc::errc::timeout);

  // Fill the ring: the block policy makes the sender wait, then time out.
  int sent = 0;
  while (tx.try_send(static_cast<std::uint64_t>(sent))) ++sent;
  CHECK(sent == 64);
  CHECK_FALSE(tx.try_send(99, ec));
  CHECK(ec == coipc::errc::would_block);
  CHECK_FALSE(tx.send_for(99, 20ms));
  CHECK_FALSE(tx.send_for(99, 1ms, ec));
  CHECK(ec == coipc::errc::timeout);
  // Nothing was lost or duplicated.
  for (int i = 0; i < sent; ++i) CHECK(rx.recv() == static_cast<std::uint64_t>(i));
  CHECK(tx.try_send(1000));
  CHECK(rx.recv() == 1000);
}

TEST_CASE("a blocked sender resumes when the receiver catches up") {
  std::string name = coipc_test::unique_name("block");
  coipc_test::cleanup c{name};
  coipc::channel_options o;
  o.capacity = 4096;
  coipc::route<std::uint64_t> tx(name, coipc::role::sender, o);
  coipc::route<std::uint64_t> rx(name, coipc::role::receiver, o);
  constexpr std::uint64_t n = 20000;
  std::thread reader([&] {
    coipc::route<std::uint64_t> r2(name, coipc::role::receiver, o);
    (void)r2;
  });
  reader.join();
  std::uint64_t out_of_order = 0;  // written by the consumer, checked after join
  std::thread consumer([&] {
    for (std::uint64_t i = 0; i < n; ++i) {
      if (rx.recv() != i) ++out_of_order;
    }
  });
  for (std::uint64_t i = 0; i < n; ++i) tx.send(i);
  consumer.join();
  CHECK(out_of_order == 0);
}

TEST_CASE("bytes: variable sizes from 0 to the maximum - and too-large messages") {
  std::string name = coipc_test::unique_name("bytes");
  coipc_test::cleanup c{name};
  coipc::channel_options o;
  o.max_message_size = 100000;
  coipc::channel<coipc::bytes> tx(name, coipc::role::sender, o);
  coipc::channel<coipc::bytes> rx(name, coipc::role::receiver, o);
  CHECK(tx.max_message_size() == 100000);
  std::vector<std::size_t> sizes = {0, 1, 63, 64, 65, 1000, 99999, 100000};
  for (std::size_t s : sizes) {
    std::vector<std::byte> payload(s);
    coipc_payload::fill(payload, tx.sender_id(), s, tx.sender_id());
    tx.send(std::span<const std::byte>(payload));
    coipc::message m = rx.recv();
    REQUIRE(m.data.size() == s);
    CHECK(m.data == payload);
    CHECK(m.sender == tx.sender_id());
  }
  std::vector<std::byte> big(100001);
  std::error_code ec;
  CHECK_FALSE(tx.send(std::span<const std::byte>(big), ec));
  CHECK(ec == coipc::errc::message_too_large);
  CHECK(coipc::last_error_message().find("100001 B exceeds the maximum of 100000 B") != std::string::npos);
  CHECK_THROWS_AS(tx.send(std::span<const std::byte>(big)), std::system_error);
  // Nothing was sent by the failed calls.
  CHECK_FALSE(rx.try_recv().has_value());
  tx.send("hello");
  CHECK(rx.recv().text() == "hello");
}

TEST_CASE("zero copy: loan - commit - abandon - view") {
  std::string name = coipc_test::unique_name("zc");
  coipc_test::cleanup c{name};
  coipc::route<Pose> tx(name, coipc::role::sender);
  coipc::route<Pose> rx(name, coipc::role::receiver);
  {
    auto l = tx.loan();
    l->x = 1;
    l->y = 2;
    l->z = 3;
    l->w = 4;
    CHECK_FALSE(rx.try_recv().has_value());  // not visible before commit
    l.commit();
  }
  { auto abandoned = tx.loan(); abandoned->x = 666; }  // destroyed uncommitted: skipped
  {
    auto l = tx.loan();
    l->x = 5;
    l.commit();
  }
  {
    auto v = rx.view();
    REQUIRE(v);
    CHECK(v->x == 1);
    CHECK(v->w == 4);
  }
  CHECK(rx.recv().x == 5);
  CHECK_FALSE(rx.try_recv().has_value());

  std::string bname = coipc_test::unique_name("zcb");
  coipc_test::cleanup cb{bname};
  coipc::channel<coipc::bytes> btx(bname, coipc::role::sender);
  coipc::channel<coipc::bytes> brx(bname, coipc::role::receiver);
  auto l = btx.loan(1000);
  REQUIRE(l.data().size() == 1000);
  std::memcpy(l.data().data(), "in place", 8);
  l.commit(8);
  auto v = brx.view();
  CHECK(v.text() == "in place");
}

TEST_CASE("channel: many senders - one shared order - per-sender order kept") {
  std::string name = coipc_test::unique_name("mpmc");
  coipc_test::cleanup c{name};
  coipc::channel_options o;
  o.capacity = 8192;
  struct item {
    std::uint32_t sender, seq;
  };
  coipc::channel<item> rx1(name, coipc::role::receiver, o);
  coipc::channel<item> rx2(name, coipc::role::receiver, o);
  constexpr std::uint32_t senders = 3, per_sender = 5000;
  std::vector<item> got1, got2;
  std::thread r1([&] { for (std::uint32_t i = 0; i < senders * per_sender; ++i) got1.push_back(rx1.recv()); });
  std::thread r2([&] { for (std::uint32_t i = 0; i < senders * per_sender; ++i) got2.push_back(rx2.recv()); });
  std::vector<std::thread> tx;
  for (std::uint32_t s = 0; s < senders; ++s) {
    tx.emplace_back([&, s] {
      coipc::channel<item> ch(name, coipc::role::sender, o);
      for (std::uint32_t i = 0; i < per_sender; ++i) ch.send(item{s, i});
    });
  }
  for (auto& t : tx) t.join();
  r1.join();
  r2.join();
  REQUIRE(got1.size() == got2.size());
  std::vector<std::uint32_t> next(senders, 0);
  for (std::size_t i = 0; i < got1.size(); ++i) {
    CHECK(got1[i].sender == got2[i].sender);  // one order for all receivers
    CHECK(got1[i].seq == got2[i].seq);
    REQUIRE(got1[i].sender < senders);
    CHECK(got1[i].seq == next[got1[i].sender]++);
  }
}

TEST_CASE("overwrite: a view says whether what it read was overwritten meanwhile") {
  // Under block a view pins its frame (senders wait for it); under overwrite nothing is
  // pinned, and intact() is how a reader learns that a lap overwrote what it looked at.
  std::string name = coipc_test::unique_name("intact");
  coipc_test::cleanup c{name};
  coipc::channel_options o;
  o.capacity = 4096;  // 64 one-unit frames
  o.overflow = coipc::overflow_policy::overwrite;
  coipc::route<std::uint64_t> tx(name, coipc::role::sender, o);
  coipc::route<std::uint64_t> rx(name, coipc::role::receiver, o);
  tx.send(1);
  tx.send(2);
  auto v = rx.view();
  REQUIRE(v);
  CHECK(*v == 1);
  CHECK(v.intact());  // nothing sent since
  for (std::uint64_t i = 0; i < 63; ++i) tx.send(100 + i);  // 65 frames: the view's is reused
  CHECK_FALSE(v.intact());
  v = {};
  auto w = rx.view();  // the oldest frame still in the ring, intact
  REQUIRE(w);
  CHECK(w.intact());
}

TEST_CASE("overwrite: a view found intact counts as received - never also as lost") {
  // The reader checked intact() and has a whole message; a lap before the view is released
  // must not make the library count it lost as well (received + lost would exceed what was
  // sent: coipc-torture's accounting found this).
  std::string name = coipc_test::unique_name("intactcount");
  coipc_test::cleanup c{name};
  coipc::channel_options o;
  o.capacity = 4096;  // 64 one-unit frames
  o.overflow = coipc::overflow_policy::overwrite;
  coipc::route<std::uint64_t> tx(name, coipc::role::sender, o);
  coipc::route<std::uint64_t> rx(name, coipc::role::receiver, o);
  tx.send(0);
  std::uint64_t received = 0;
  {
    auto v = rx.view();
    REQUIRE(v);
    REQUIRE(v.intact());  // the reader has message 0
    ++received;
    for (std::uint64_t i = 1; i <= 100; ++i) tx.send(i);  // laps the view's frame
  }
  while (rx.try_recv()) ++received;
  CHECK(received + rx.lost() == 101);
}

TEST_CASE("overwrite: the sender never waits - a lagging receiver counts what it lost") {
  std::string name = coipc_test::unique_name("ovw");
  coipc_test::cleanup c{name};
  coipc::channel_options o;
  o.capacity = 4096;
  o.overflow = coipc::overflow_policy::overwrite;
  coipc::route<std::uint64_t> tx(name, coipc::role::sender, o);
  coipc::route<std::uint64_t> rx(name, coipc::role::receiver, o);
  for (std::uint64_t i = 0; i < 1000; ++i) CHECK(tx.try_send(i));
  std::uint64_t received = 0, last = 0;
  while (auto v = rx.try_recv()) {
    if (received) CHECK(*v > last);
    last = *v;
    ++received;
  }
  CHECK(last == 999);
  CHECK(received > 0);
  CHECK(received <= 64);
  CHECK(received + rx.lost() == 1000);
}

TEST_CASE("bad input: second route sender - type mismatch - wrong role - use after close") {
  std::string name = coipc_test::unique_name("bad");
  coipc_test::cleanup c{name};
  coipc::route<Reading> tx(name, coipc::role::sender);
  std::error_code ec;
  coipc::route<Reading> tx2(name, coipc::role::sender, {}, ec);
  CHECK(ec == coipc::errc::sender_exists);
  CHECK(coipc::last_error_message().find("already has a live sender") != std::string::npos);

  coipc::route<Pose> wrong(name, coipc::role::receiver, {}, ec);
  CHECK(ec == coipc::errc::type_mismatch);
  CHECK(coipc::last_error_message().find("Reading") != std::string::npos);
  CHECK(coipc::last_error_message().find("Pose") != std::string::npos);

  coipc::channel<Reading> other_kind(name, coipc::role::receiver, {}, ec);
  CHECK(ec == coipc::errc::geometry_mismatch);

  coipc::route<Reading> rx(name, coipc::role::receiver);
  CHECK_FALSE(tx.try_recv(ec).has_value());
  CHECK(ec == coipc::errc::wrong_role);
  CHECK_FALSE(rx.try_send(Reading{}, ec));
  CHECK(ec == coipc::errc::wrong_role);

  tx.send(Reading{1, 2, 3});
  rx.close();
  CHECK_FALSE(rx.try_recv(ec).has_value());
  CHECK(ec == coipc::errc::closed);
  CHECK(coipc::last_error_message() == "channel '" + name + "': used after close()");
  CHECK_THROWS_AS(rx.recv(), std::system_error);

  // After the sender closes, a new sender may take the route.
  tx.close();
  coipc::route<Reading> tx3(name, coipc::role::sender);
  CHECK(tx3.is_open());

  coipc::channel_options bad;
  bad.capacity = 5000;
  coipc::route<Reading> b(coipc_test::unique_name("badcap"), coipc::role::sender, bad, ec);
  CHECK(ec == coipc::errc::invalid_argument);
}

TEST_CASE("wait_for_receivers and receiver_count") {
  std::string name = coipc_test::unique_name("members");
  coipc_test::cleanup c{name};
  coipc::channel<int> tx(name, coipc::role::sender);
  CHECK(tx.receiver_count() == 0);
  CHECK_FALSE(tx.wait_for_receivers(1, 20ms));
  std::thread t([&] {
    std::this_thread::sleep_for(20ms);
    coipc::channel<int> rx(name, coipc::role::receiver);
    std::this_thread::sleep_for(200ms);
  });
  CHECK(tx.wait_for_receivers(1, 5s));
  t.join();
  CHECK(tx.receiver_count() == 0);
}

TEST_CASE("256 receivers on one channel each get every message") {
  std::string name = coipc_test::unique_name("many");
  coipc_test::cleanup c{name};
  coipc::channel_options o;
  o.capacity = 4096;
  coipc::route<std::uint32_t> tx(name, coipc::role::sender, o);
  std::vector<coipc::route<std::uint32_t>> rxs;
  for (int i = 0; i < 256; ++i) rxs.emplace_back(name, coipc::role::receiver, o);
  CHECK(tx.receiver_count() == 256);
  std::error_code ec;
  coipc::route<std::uint32_t> one_too_many(name, coipc::role::receiver, o, ec);
  CHECK(ec == coipc::errc::too_many_peers);
  for (std::uint32_t round = 0; round < 3; ++round) {
    for (std::uint32_t i = 0; i < 40; ++i) tx.send(round * 100 + i);
    for (auto& rx : rxs) {
      for (std::uint32_t i = 0; i < 40; ++i) CHECK(rx.recv() == round * 100 + i);
    }
  }
}

TEST_CASE("bytes from any contiguous source: string_view - char spans - raw buffers") {
  std::string name = coipc_test::unique_name("sources");
  coipc_test::cleanup c{name};
  coipc::channel<coipc::bytes> tx(name, coipc::role::sender);
  coipc::channel<coipc::bytes> rx(name, coipc::role::receiver);
  const char raw[] = {'r', 'a', 'w'};
  const std::vector<char> chars = {'v', 'e', 'c'};
  const std::vector<unsigned char> uchars = {'u', 'c', 'h'};
  const std::string text = "string";
  std::error_code ec;
  tx.send("literal");
  tx.send(std::string_view("view"));
  tx.send(text);
  tx.send(std::span<const char>(raw, 3));
  tx.send(chars);
  tx.send(uchars);
  tx.send({raw, 2});  // (pointer, size)
  {
    auto l = tx.loan(16);  // the loan takes the same sources
    std::size_t n = l.copy_from("in ");
    n += l.copy_from(std::span<const char>(raw, 3), n);
    CHECK(l.copy_from("overflowing the loan", n) == 10);  // bounded by the loan's size
    l.commit(n);
  }
  CHECK(tx.try_send("try", ec));
  CHECK(tx.send_for("timed", std::chrono::seconds(1), ec));
  for (const char* want : {"literal", "view", "string", "raw", "vec", "uch", "ra", "in raw", "try", "timed"}) {
    CHECK(rx.recv().text() == want);
  }
}

TEST_CASE("recv_into: no allocation - a too-small buffer consumes nothing") {
  std::string name = coipc_test::unique_name("into");
  coipc_test::cleanup c{name};
  coipc::channel<coipc::bytes> tx(name, coipc::role::sender);
  coipc::channel<coipc::bytes> rx(name, coipc::role::receiver);
  tx.send("hello, buffer");
  tx.send("second");
  std::array<std::byte, 4> small{};
  std::error_code ec;
  CHECK(rx.recv_into(small, ec) == 0);
  CHECK(ec == coipc::errc::message_too_large);
  CHECK(coipc::last_error_message().find("13 B") != std::string::npos);
  std::array<char, 64> buf{};
  const std::size_t n = rx.recv_into(std::span<char>(buf));  // the same message, not lost
  CHECK(std::string_view(buf.data(), n) == "hello, buffer");
  std::array<std::byte, 64> bytes{};
  auto m = rx.try_recv_into(bytes);
  REQUIRE(m.has_value());
  CHECK(*m == 6);
  CHECK_FALSE(rx.try_recv_into(bytes).has_value());
  CHECK_FALSE(rx.recv_into_for(bytes, std::chrono::milliseconds(5)).has_value());
  // recv(message&) reuses the message's storage.
  coipc::message msg;
  msg.data.reserve(256);
  const auto* storage = msg.data.data();
  tx.send("reused");
  rx.recv(msg);
  CHECK(msg.text() == "reused");
  CHECK(msg.data.data() == storage);
}

TEST_CASE("zero-copy receives have throwing forms: try_view and view_for") {
  std::string name = coipc_test::unique_name("views");
  coipc_test::cleanup c{name};
  coipc::route<std::uint64_t> tx(name, coipc::role::sender);
  coipc::route<std::uint64_t> rx(name, coipc::role::receiver);
  CHECK_FALSE(rx.try_view());
  CHECK_FALSE(rx.view_for(std::chrono::milliseconds(5)));
  tx.send(7);
  tx.send(8);
  {
    auto v = rx.try_view();
    REQUIRE(v);
    CHECK(*v == 7);
  }
  auto w = rx.view_for(std::chrono::seconds(1));
  REQUIRE(w);
  CHECK(*w == 8);
  rx.close();
  CHECK_THROWS_AS(rx.try_view(), std::system_error);
}

TEST_CASE("async port: a coroutine layer's view follows the channel") {
  using coipc::async_support::readiness;
  std::string name = coipc_test::unique_name("port");
  coipc_test::cleanup c{name};
  coipc::route<std::uint64_t> tx(name, coipc::role::sender);
  coipc::route<std::uint64_t> rx(name, coipc::role::receiver);
  auto port = rx.port();
  CHECK(port.is_open());
  CHECK(port.name() == name);
  CHECK(port == rx.port());
  CHECK_FALSE(port == tx.port());
  CHECK(tx.port().receiver_count() == 1);
  CHECK(tx.port().send_readiness(sizeof(std::uint64_t)) == readiness::ready);
  CHECK(port.receive_readiness() == readiness::waiting);
  tx.send(7);
  CHECK(port.receive_readiness() == readiness::ready);
  CHECK(rx.recv() == 7);
  CHECK(port.receive_readiness() == readiness::waiting);
  rx.close();
  CHECK_FALSE(port.is_open());
}
