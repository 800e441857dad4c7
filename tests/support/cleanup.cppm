// Test support module: payload types shared by the tests, removal of a test's segments
// when the test ends however it ends, a flag for processes to meet at a point, and the
// installation of a fault-injection hook for one scope.
module;
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>
#include <thread>
export module coipc_test_support;
import coipc;

export namespace coipc_test {

/// Payload types of the tests (24 B and 32 B, both aligned to 8).
struct Reading {
  double value;
  std::uint64_t stamp;
  std::uint32_t sensor;
};
struct Pose {
  double x, y, z, w;
};

/// Removes the segment `name` on destruction (a missing one is fine).
struct cleanup {
  std::string name;
  ~cleanup() {
    std::error_code ec;
    coipc::remove_segment(name, ec);
  }
};

/// A one-word segment a child raises to tell its parent where it is (or the reverse).
struct flag {
  coipc::segment seg;
  explicit flag(const std::string& name) {
    coipc::segment_geometry g;
    g.body_size = 64;
    seg = coipc::segment::open(name, coipc::fingerprint_of<std::uint32_t>(), g, {}, nullptr);
  }
  std::atomic<std::uint32_t>& word() const {
    return *reinterpret_cast<std::atomic<std::uint32_t>*>(seg.body().data());
  }
  void raise(std::uint32_t v) const { word().store(v, std::memory_order_release); }  // SYNC POINT: flag
  /// Adds to it (several processes counting in), both ends of SYNC POINT: flag.
  void add(std::uint32_t v) const { word().fetch_add(v, std::memory_order_acq_rel); }
  std::uint32_t value() const { return word().load(std::memory_order_acquire); }     // SYNC POINT: flag
  /// Polls (1 ms) until the flag holds `v`; false after `timeout`.
  bool wait_for(std::uint32_t v, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (value() != v) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }
};

/// Installs a fault-injection hook for the scope (modules/fault.cppm).
struct hook_guard {
  explicit hook_guard(coipc::detail::fault::hook_fn fn) { coipc::detail::fault::set_hook(fn); }
  ~hook_guard() { coipc::detail::fault::set_hook(nullptr); }
};

}  // namespace coipc_test
