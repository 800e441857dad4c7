// Test support module: payload types shared by the tests, and removal of a test's
// segments when the test ends, however it ends.
module;
#include <cstdint>
#include <string>
#include <system_error>
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

}  // namespace coipc_test
