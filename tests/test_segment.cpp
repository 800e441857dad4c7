// The segment layer: create-or-open races between processes, validation of hostile
// segments, type and geometry mismatches, names, permissions, removal and listing.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <pwd.h>
#include <span>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <vector>

#include "support/processes.hpp"

import coipc;
import coipc_test_support;

namespace {

using coipc_test::Pose;
using coipc_test::Reading;

coipc::segment_geometry small_geometry() {
  coipc::segment_geometry g;
  g.kind = 0;
  g.ring_bytes = 4096;
  g.max_message_size = 256;
  g.max_receivers = 4;
  g.max_senders = 1;
  g.body_size = 8192;
  return g;
}


std::string shm_path(const std::string& name) { return "/dev/shm/coipc." + name; }

void write_file(const std::string& path, const void* data, std::size_t size) {
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, data, size) == static_cast<ssize_t>(size));
  ::close(fd);
}

// Overwrites sizeof(V) bytes of a file at `offset` (to corrupt a valid segment's header).
template <class V>
void patch_file(const std::string& path, off_t offset, V value) {
  int fd = ::open(path.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, &value, sizeof value, offset) == static_cast<ssize_t>(sizeof value));
  ::close(fd);
}

coipc::segment open_reading(const std::string& name, std::error_code& ec,
                            coipc::segment_options options = {}) {
  return coipc::segment::open(name, coipc::fingerprint_of<Reading>(), small_geometry(), options,
                              nullptr, ec);
}

}  // namespace

TEST_CASE("a segment is created once and opened by others with its body intact") {
  std::string name = coipc_test::unique_name("seg");
  coipc_test::cleanup cleanup{name};
  std::error_code ec;
  auto init = [](std::span<std::byte> body) { std::memcpy(body.data(), "hello", 6); };
  auto a = coipc::segment::open(name, coipc::fingerprint_of<Reading>(), small_geometry(), {},
                                init, ec);
  REQUIRE_FALSE(ec);
  CHECK(a.created());
  CHECK(a.body().size() == 8192);

  auto b = coipc::segment::open(name, coipc::fingerprint_of<Reading>(), small_geometry(), {},
                                [](std::span<std::byte>) { FAIL("must not initialize twice"); },
                                ec);
  REQUIRE_FALSE(ec);
  CHECK_FALSE(b.created());
  CHECK(std::memcmp(b.body().data(), "hello", 6) == 0);
  // Both map the same memory.
  std::memcpy(a.body().data() + 100, "shared", 7);
  CHECK(std::memcmp(b.body().data() + 100, "shared", 7) == 0);
  CHECK(b.header().creator_pid == static_cast<std::uint32_t>(::getpid()));
  CHECK(std::string(b.header().type.name).find("Reading") != std::string::npos);
}

COIPC_CHILD(segment_racer) {
  // args: name, path of a file in which to record "created" (one line per creator)
  std::error_code ec;
  auto init = [](std::span<std::byte> body) {
    // Slow initialization widens the race window.
    std::memset(body.data(), 0xAB, body.size());
    ::usleep(20'000);
  };
  auto seg = coipc::segment::open(args[0], coipc::fingerprint_of<Reading>(), small_geometry(), {},
                                  init, ec);
  if (ec) {
    std::fprintf(stderr, "racer: %s\n", coipc::last_error_message().c_str());
    return 3;
  }
  // Whoever opened it must see a fully initialized body.
  for (std::byte b : seg.body()) {
    if (b != std::byte{0xAB}) return 4;
  }
  return seg.created() ? 10 : 11;
}

TEST_CASE("processes racing to create a segment: exactly one initializes it") {
  for (int round = 0; round < 5; ++round) {
    std::string name = coipc_test::unique_name("race");
    coipc_test::cleanup cleanup{name};
    std::vector<coipc_test::child_process> children;
    for (int i = 0; i < 8; ++i) children.push_back(coipc_test::spawn("segment_racer", {name}));
    int creators = 0, openers = 0;
    for (auto& c : children) {
      auto status = c.wait();
      REQUIRE(status.has_value());
      if (*status == 10) ++creators;
      else if (*status == 11) ++openers;
      else FAIL("racer exited with " << *status);
    }
    CHECK(creators == 1);
    CHECK(openers == 7);
  }
}

TEST_CASE("open_only and create_only") {
  std::string name = coipc_test::unique_name("modes");
  coipc_test::cleanup cleanup{name};
  std::error_code ec;
  open_reading(name, ec, {.mode = coipc::open_mode::open_only});
  CHECK(ec == coipc::errc::not_found);
  CHECK(coipc::last_error_message().find(name) != std::string::npos);

  auto a = open_reading(name, ec, {.mode = coipc::open_mode::create_only});
  REQUIRE_FALSE(ec);
  CHECK(a.created());
  open_reading(name, ec, {.mode = coipc::open_mode::create_only});
  CHECK(ec == coipc::errc::already_exists);
  auto b = open_reading(name, ec, {.mode = coipc::open_mode::open_only});
  CHECK_FALSE(ec);
  CHECK_FALSE(b.created());
}

TEST_CASE("a type mismatch names both types") {
  std::string name = coipc_test::unique_name("types");
  coipc_test::cleanup cleanup{name};
  std::error_code ec;
  auto a = open_reading(name, ec);
  REQUIRE_FALSE(ec);
  coipc::segment::open(name, coipc::fingerprint_of<Pose>(), small_geometry(), {}, nullptr, ec);
  CHECK(ec == coipc::errc::type_mismatch);
  const std::string& msg = coipc::last_error_message();
  CHECK(msg.find("'" + name + "'") != std::string::npos);
  CHECK(msg.find("Reading") != std::string::npos);
  CHECK(msg.find("Pose") != std::string::npos);
  CHECK(msg.find("24 B, align 8") != std::string::npos);
  CHECK(msg.find("32 B, align 8") != std::string::npos);

  // The throwing overload carries the same message.
  try {
    coipc::segment::open(name, coipc::fingerprint_of<Pose>(), small_geometry(), {}, nullptr);
    FAIL("expected an exception");
  } catch (const std::system_error& e) {
    CHECK(e.code() == coipc::errc::type_mismatch);
    CHECK(std::string(e.what()).find("Pose") != std::string::npos);
  }
}

TEST_CASE("a geometry mismatch names both geometries") {
  std::string name = coipc_test::unique_name("geom");
  coipc_test::cleanup cleanup{name};
  std::error_code ec;
  auto a = open_reading(name, ec);
  REQUIRE_FALSE(ec);
  auto other = small_geometry();
  other.max_message_size = 512;
  coipc::segment::open(name, coipc::fingerprint_of<Reading>(), other, {}, nullptr, ec);
  CHECK(ec == coipc::errc::geometry_mismatch);
  CHECK(coipc::last_error_message().find("max message 256 B") != std::string::npos);
  CHECK(coipc::last_error_message().find("max message 512 B") != std::string::npos);
}

TEST_CASE("hostile segments are refused - never read out of bounds") {
  std::string name = coipc_test::unique_name("hostile");
  coipc_test::cleanup cleanup{name};
  std::error_code ec;

  SECTION("a file shorter than the header") {
    char junk[100] = {};
    write_file(shm_path(name), junk, sizeof junk);
    open_reading(name, ec);
    CHECK(ec == coipc::errc::corrupt_segment);
    CHECK(coipc::last_error_message().find("shorter than the 256 B header") != std::string::npos);
  }
  SECTION("an empty file") {
    write_file(shm_path(name), "", 0);
    open_reading(name, ec);
    CHECK(ec == coipc::errc::corrupt_segment);
  }
  SECTION("garbage") {
    std::vector<unsigned char> junk(10000);
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<unsigned char>(i * 131 + 7);
    write_file(shm_path(name), junk.data(), junk.size());
    open_reading(name, ec);
    CHECK(ec == coipc::errc::corrupt_segment);
    CHECK(coipc::last_error_message().find("bad magic") != std::string::npos);
  }
  SECTION("a valid segment truncated afterwards") {
    { auto a = open_reading(name, ec); REQUIRE_FALSE(ec); }
    REQUIRE(::truncate(shm_path(name).c_str(), 4096) == 0);
    open_reading(name, ec);
    CHECK(ec == coipc::errc::corrupt_segment);
    CHECK(coipc::last_error_message().find("truncated") != std::string::npos);
  }
  SECTION("a header whose bytes were flipped") {
    { auto a = open_reading(name, ec); REQUIRE_FALSE(ec); }
    patch_file(shm_path(name), 16, ~0ull);  // total_size: would map far beyond the file
    open_reading(name, ec);
    CHECK(ec == coipc::errc::corrupt_segment);
    CHECK(coipc::last_error_message().find("checksum") != std::string::npos);
  }
  SECTION("a header whose size was changed and its checksum recomputed (a hostile writer)") {
    // The checksum catches accidents, not an attacker: the size checks must hold alone.
    { auto a = open_reading(name, ec); REQUIRE_FALSE(ec); }
    for (std::uint64_t claimed : {std::uint64_t{1} << 40, std::uint64_t{4096}}) {
      INFO("total_size " << claimed);
      coipc::segment_header h{};
      int fd = ::open(shm_path(name).c_str(), O_RDWR);
      REQUIRE(fd >= 0);
      REQUIRE(::pread(fd, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h));
      h.total_size = claimed;
      h.geometry.body_size = claimed - sizeof h;
      h.checksum = coipc::detail::fnv1a(std::string_view(reinterpret_cast<const char*>(&h),
                                                         offsetof(coipc::segment_header, checksum)));
      REQUIRE(::pwrite(fd, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h));
      ::close(fd);
      std::error_code e2;
      coipc::segment::inspect(name, e2);  // accepts any geometry: only the size checks stand
      CHECK(e2 == coipc::errc::corrupt_segment);
      CHECK(coipc::last_error_message().find("truncated segment: header says") != std::string::npos);
    }
  }
  SECTION("another layout version") {
    { auto a = open_reading(name, ec); REQUIRE_FALSE(ec); }
    const std::uint32_t version = coipc::layout_version + 1;
    patch_file(shm_path(name), 8, version);
    open_reading(name, ec);
    CHECK(ec == coipc::errc::version_mismatch);
    CHECK(coipc::last_error_message().find("layout version " + std::to_string(version)) !=
          std::string::npos);
  }
  SECTION("inspection validates too") {
    char junk[300] = {1, 2, 3};
    write_file(shm_path(name), junk, sizeof junk);
    coipc::segment::inspect(name, ec);
    CHECK(ec == coipc::errc::corrupt_segment);
  }
}

TEST_CASE("channel names are validated") {
  std::error_code ec;
  for (std::string bad : {std::string(""), std::string("a/b"), std::string("../etc"),
                          std::string(".hidden"), std::string("a..b"), std::string("sp ace"),
                          std::string("tab\t"), std::string(201, 'x'), std::string("é")}) {
    INFO("name: " << bad);
    CHECK_FALSE(coipc::validate_name(bad, ec));
    CHECK(ec == coipc::errc::invalid_name);
    open_reading(bad, ec);
    CHECK(ec == coipc::errc::invalid_name);
    CHECK(coipc::last_error_message().find("invalid channel name") != std::string::npos);
  }
  for (std::string good : {std::string("a"), std::string("telemetry"), std::string("robot-1.pose_v2"), std::string(200, 'x')}) {
    INFO("name: " << good);
    CHECK(coipc::validate_name(good, ec));
    CHECK_FALSE(ec);
  }
}

TEST_CASE("permissions are exactly what was asked - whatever the umask") {
  mode_t old_umask = ::umask(077);
  struct expectation {
    coipc::access access;
    mode_t mode;
  };
  for (auto [acc, mode] : {expectation{coipc::access::owner, 0600},
                           expectation{coipc::access::group, 0660},
                           expectation{coipc::access::everyone, 0666}}) {
    std::string name = coipc_test::unique_name("perm");
    coipc_test::cleanup cleanup{name};
    std::error_code ec;
    auto s = open_reading(name, ec, {.permissions = acc});
    REQUIRE_FALSE(ec);
    struct stat st {};
    REQUIRE(::stat(shm_path(name).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == mode);
  }
  ::umask(old_umask);
}

COIPC_CHILD(open_as_nobody) {
  passwd* nobody = ::getpwnam("nobody");
  if (!nobody || ::setgid(nobody->pw_gid) != 0 || ::setuid(nobody->pw_uid) != 0) return 2;
  std::error_code ec;
  open_reading(args[0], ec);
  if (ec == coipc::errc::permission_denied) return 10;
  return ec ? 11 : 12;
}

TEST_CASE("another user cannot open an owner-only segment") {
  if (::geteuid() != 0) {
    WARN("not root: cannot switch to another user; skipped");
    return;
  }
  std::string name = coipc_test::unique_name("owner");
  coipc_test::cleanup cleanup{name};
  std::error_code ec;
  auto s = open_reading(name, ec);
  REQUIRE_FALSE(ec);
  auto child = coipc_test::spawn("open_as_nobody", {name});
  CHECK(child.wait() == 10);
}

TEST_CASE("remove and list") {
  std::string name = coipc_test::unique_name("rm");
  coipc_test::cleanup cleanup{name};
  std::error_code ec;
  {
    auto s = open_reading(name, ec);
    REQUIRE_FALSE(ec);
    auto names = coipc::list_segments();
    CHECK(std::find(names.begin(), names.end(), name) != names.end());
    CHECK(coipc::remove_segment(name, ec));
    CHECK_FALSE(ec);
    // The mapping stays usable after removal.
    std::memset(s.body().data(), 1, 16);
  }
  auto names = coipc::list_segments();
  CHECK(std::find(names.begin(), names.end(), name) == names.end());
  CHECK_FALSE(coipc::remove_segment(name, ec));
  CHECK(ec == coipc::errc::not_found);
  CHECK_THROWS_AS(coipc::remove_segment(name), std::system_error);
  CHECK_FALSE(coipc::remove_segment("../x", ec));
  CHECK(ec == coipc::errc::invalid_name);
  // A new open after removal creates a fresh segment.
  auto fresh = open_reading(name, ec);
  CHECK(fresh.created());
}
