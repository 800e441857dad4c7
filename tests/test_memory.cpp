// What a channel costs in memory, and what happens when /dev/shm is full.
//   - default sizes: a bytes channel is a few hundred KiB, 1 MiB messages one option away;
//   - setting only the capacity picks a fitting maximum message size;
//   - a segment that does not fit in /dev/shm fails at open with ENOSPC and a clear
//     message, never with SIGBUS in the middle of a stream (a 1 MiB tmpfs mounted over
//     /dev/shm in a private mount namespace, as Docker's small /dev/shm would be).
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <system_error>
#include <vector>

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/processes.hpp"

import coipc;
import coipc_test_support;

namespace {
std::size_t file_size(const std::string& name) {
  struct stat st {};
  if (::stat(("/dev/shm/coipc." + name).c_str(), &st) != 0) return 0;
  return static_cast<std::size_t>(st.st_size);
}
}  // namespace

TEST_CASE("default sizes: a bytes channel is small - 1 MiB messages are one option away") {
  std::string name = coipc_test::unique_name("defaults");
  coipc_test::cleanup c{name};
  {
    coipc::channel<coipc::bytes> ch(name, coipc::role::both);
    CHECK(ch.max_message_size() == 128 * 1024);
    CHECK(file_size(name) < 512 * 1024);  // 256 KiB ring + entries + slots + header
    std::vector<std::byte> m(128 * 1024, std::byte{7});
    std::error_code ec;
    CHECK(ch.send(m, ec));
  }
  coipc::remove_segment(name);
  coipc::channel_options big;
  big.max_message_size = 1 << 20;
  coipc::channel<coipc::bytes> ch(name, coipc::role::both, big);
  CHECK(ch.max_message_size() == 1 << 20);
  CHECK(file_size(name) >= 4u << 20);  // four of them fit
}

TEST_CASE("setting only the capacity picks the largest message that fits") {
  for (std::size_t capacity : {std::size_t{4096}, std::size_t{64} << 10, std::size_t{8} << 20}) {
    INFO("capacity " << capacity);
    std::string name = coipc_test::unique_name("caponly");
    coipc_test::cleanup c{name};
    coipc::channel_options o;
    o.capacity = capacity;
    std::error_code ec;
    coipc::channel<coipc::bytes> ch(name, coipc::role::sender, o, ec);
    REQUIRE_FALSE(ec);
    CHECK(ch.max_message_size() == std::min<std::size_t>(1 << 20, capacity / 2));
  }
}

namespace {
// In this process only: a private mount namespace with a 1 MiB tmpfs over /dev/shm, as a
// small Docker /dev/shm would be. Needs root (CAP_SYS_ADMIN), as the quick start has. The
// mount containing /dev/shm is made private first, so that nothing propagates to the
// machine's own /dev/shm (unshare(1) would make "/" private, which fails in a chroot).
bool small_private_dev_shm() {
  if (::unshare(CLONE_NEWNS) != 0) {
    std::perror("unshare(CLONE_NEWNS)");
    return false;
  }
  bool made_private = false;
  for (const char* m : {"/dev/shm", "/dev", "/"}) {
    if (::mount(nullptr, m, nullptr, MS_REC | MS_PRIVATE, nullptr) == 0) {
      made_private = true;
      break;
    }
  }
  if (!made_private) {
    std::perror("mount --make-rprivate");
    return false;
  }
  if (::mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m") != 0) {
    std::perror("mount tmpfs /dev/shm");
    return false;
  }
  return true;
}
}  // namespace

COIPC_CHILD(open_in_small_shm) {
  // args: name.
  if (!small_private_dev_shm()) return 2;
  const std::string& name = args.at(0);
  coipc::channel_options too_big;
  too_big.capacity = 4 << 20;
  std::error_code ec;
  coipc::channel<coipc::bytes> ch(name, coipc::role::both, too_big, ec);
  if (ec != std::errc::no_space_on_device) {
    std::fprintf(stderr, "expected ENOSPC, got %s: %s\n", ec.message().c_str(),
                 coipc::last_error_message().c_str());
    return 3;
  }
  if (coipc::last_error_message().find("no room") == std::string::npos) return 4;
  if (!coipc::list_segments().empty()) return 5;  // nothing half-made left behind
  // One that fits works, through many laps of its ring.
  coipc::channel_options fits;
  fits.capacity = 64 << 10;
  coipc::channel<coipc::bytes> ok(name, coipc::role::both, fits);
  std::vector<std::byte> m(1000, std::byte{1});
  for (int i = 0; i < 1000; ++i) {
    ok.send(m);
    if (ok.recv().data.size() != m.size()) return 6;
  }
  // Fill what is left of the tmpfs with other channels until one is refused: refused at
  // open, every time, never a SIGBUS later.
  std::vector<coipc::channel<coipc::bytes>> more;
  for (int i = 0; i < 100; ++i) {
    coipc::channel<coipc::bytes> extra(name + "." + std::to_string(i), coipc::role::both, fits, ec);
    if (ec) break;
    std::vector<std::byte> big(30000, std::byte{2});
    extra.send(big);
    more.push_back(std::move(extra));
  }
  return ec == std::errc::no_space_on_device ? 0 : 7;
}

TEST_CASE("a segment that does not fit in /dev/shm fails at open with ENOSPC") {
  std::string name = coipc_test::unique_name("fullshm");
  auto child = coipc_test::spawn("open_in_small_shm", {name});
  CHECK(child.wait(std::chrono::seconds(60)) == 0);  // 2: no private /dev/shm could be made
}
