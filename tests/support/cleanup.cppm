// Test support module: removes a test's segments when the test ends, however it ends.
module;
#include <string>
#include <system_error>
export module coipc_test_support;
import coipc;

export namespace coipc_test {

/// Removes the segment `name` on destruction (a missing one is fine).
struct cleanup {
  std::string name;
  ~cleanup() {
    std::error_code ec;
    coipc::remove_segment(name, ec);
  }
};

}  // namespace coipc_test
