// Hostile shared memory: a process with write access to a segment (or to /dev/shm) writes
// whatever it likes. Every read path must refuse what it cannot trust: with an error, never
// an out-of-bounds access, and without committing resources to an unchecked file.
//
// Unlike random garbage (which almost never carries a valid lap tag, so the checks behind
// the tag are never reached), these tests write frames a real sender could have written,
// with one field made hostile, and headers whose checksum the attacker recomputed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "support/processes.hpp"

import coipc;
import coipc_test_support;

using namespace std::chrono_literals;
using coipc_test::Reading;

namespace {

coipc::channel_options small_ring() {
  coipc::channel_options o;
  o.capacity = 4096;
  o.max_message_size = 1024;
  o.max_receivers = 4;
  o.max_senders = 2;
  o.stall_timeout = 50ms;
  return o;
}

// Writes the frame at ring position `position` of channel `name` the way a sender
// publishes it, with the given units and length (a valid lap tag, a published state), and
// moves the tail past it.
void forge_published_frame(const std::string& name, std::uint64_t position, std::uint32_t units,
                           std::uint32_t length) {
  namespace d = coipc::detail;
  std::error_code ec;
  auto seg = coipc::segment::inspect(name, ec);
  REQUIRE_FALSE(ec);
  const auto layout = d::ring_layout::of(seg.header().geometry);
  std::byte* body = seg.body().data();
  auto& ctl = *reinterpret_cast<d::ring_control*>(body);
  auto& entry = reinterpret_cast<d::frame_entry*>(body + layout.entries_offset)[position % layout.units];
  entry.info.store(length, std::memory_order_relaxed);
  entry.stamp.store(d::stamp::pack(d::stamp::tag_of_lap(position / layout.units),
                                   d::frame_state::published, 1, units),
                    std::memory_order_release);
  ctl.tail.store(d::tail_word::pack(position + std::max<std::uint32_t>(units, 1), 1),
                 std::memory_order_release);
}

// Moves an empty ring's tail to `position`, so that receivers connecting next start there.
void move_tail(const std::string& name, std::uint64_t position) {
  namespace d = coipc::detail;
  std::error_code ec;
  auto seg = coipc::segment::inspect(name, ec);
  REQUIRE_FALSE(ec);
  reinterpret_cast<d::ring_control*>(seg.body().data())
      ->tail.store(d::tail_word::pack(position, 0), std::memory_order_release);
}

/// A payload type of 1 KiB: a whole ring unit is 64 B, so a one-unit frame holds 1/16 of it.
struct big {
  std::byte bytes[1024];
};

template <class T>
void expect_refused_by(coipc::route<T>& rx, const std::string& path, const std::string& name) {
  INFO("path: " << path);
  std::error_code ec;
  if (path == "recv") rx.recv(ec);
  if (path == "try_recv") rx.try_recv(ec);
  if (path == "recv_for") rx.recv_for(10ms, ec);
  if (path == "view") auto v = rx.view(ec);
  if (path == "try_view") auto v = rx.try_view(ec);
  if (path == "view_for") auto v = rx.view_for(10ms, ec);
  CHECK(ec == coipc::errc::corrupt_segment);
  CHECK(coipc::last_error_message().find("channel '" + name + "'") != std::string::npos);
}

long max_rss_kib() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

}  // namespace

TEST_CASE("a typed frame of the wrong length is refused by every typed read path") {
  auto path = GENERATE(as<std::string>{}, "recv", "try_recv", "recv_for", "view", "try_view",
                       "view_for");
  std::string name = coipc_test::unique_name("typedlen");
  coipc_test::cleanup c{name};
  SECTION("a Reading frame of 8 B (the type has 24)") {
    coipc::route<Reading> rx(name, coipc::role::receiver, small_ring());
    forge_published_frame(name, 0, 1, 8);
    expect_refused_by(rx, path, name);
  }
  SECTION("a 1 KiB type in a one-unit frame at the ring's last unit: *v would read past the mapping") {
    auto o = small_ring();
    o.max_message_size = 0;
    {
      coipc::route<big> creator(name, coipc::role::sender, o);
    }
    move_tail(name, 63);  // the last of the ring's 64 units
    coipc::route<big> rx(name, coipc::role::receiver, o);
    forge_published_frame(name, 63, 1, 8);
    expect_refused_by(rx, path, name);
  }
}

TEST_CASE("frames with valid tags and hostile units or lengths give corrupt_segment") {
  struct forged {
    const char* what;
    std::uint32_t units, length;
  };
  // The ring has 64 units of 64 B; the maximum message is 1024 B.
  auto f = GENERATE(forged{"zero units", 0, 10}, forged{"units past the ring's end", 65, 10},
                    forged{"a length beyond its units", 1, 65},
                    forged{"a length beyond the maximum message", 20, 1025},
                    forged{"a length of 4 GiB", 1, 0xffffffffu});
  INFO(f.what);
  std::string name = coipc_test::unique_name("forged");
  coipc_test::cleanup c{name};
  coipc::route<coipc::bytes> rx(name, coipc::role::receiver, small_ring());
  forge_published_frame(name, 0, f.units, f.length);
  std::error_code ec;
  auto m = rx.try_recv(ec);
  CHECK(ec == coipc::errc::corrupt_segment);
  CHECK_FALSE(m.has_value());
  auto v = rx.try_view(ec);
  CHECK(ec == coipc::errc::corrupt_segment);
  CHECK_FALSE(v);
}

TEST_CASE("a hostile file at a channel's name costs a header read - not its size") {
  std::string name = coipc_test::unique_name("sparse");
  coipc_test::cleanup c{name};
  const std::string path = "/dev/shm/coipc." + name;
  constexpr off_t huge = off_t{1} << 30;  // 1 GiB, sparse: costs nothing until mapped

  SECTION("garbage, 1 GiB") {
    int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, huge) == 0);
    REQUIRE(::pwrite(fd, "garbage!", 8, 0) == 8);
    ::close(fd);
  }
  SECTION("a valid-looking header, checksum recomputed, claiming 1 GiB of another geometry") {
    // Made the way a hostile writer would: a real segment's header, with the sizes raised
    // and the checksum recomputed, at the front of a 1 GiB sparse file.
    coipc::segment_header h{};
    {
      coipc::route<Reading> real(name, coipc::role::receiver, small_ring());
      std::error_code ec;
      h = coipc::segment::inspect(name, ec).header();
      REQUIRE_FALSE(ec);
    }
    coipc::remove_segment(name);
    h.geometry.body_size = static_cast<std::uint64_t>(huge) - sizeof h;
    h.total_size = static_cast<std::uint64_t>(huge);
    h.checksum = coipc::detail::fnv1a(
        std::string_view(reinterpret_cast<const char*>(&h), offsetof(coipc::segment_header, checksum)));
    int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, huge) == 0);
    REQUIRE(::pwrite(fd, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h));
    ::close(fd);
  }
  const long rss_before = max_rss_kib();
  const auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  coipc::route<Reading> rx(name, coipc::role::receiver, small_ring(), ec);
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK((ec == coipc::errc::corrupt_segment || ec == coipc::errc::geometry_mismatch));
  // Mapping and populating the file would have cost 1 GiB of memory (and seconds).
  CHECK(max_rss_kib() - rss_before < 64 * 1024);
  CHECK(elapsed < 500ms);
}
