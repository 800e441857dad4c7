// Must not compile: std::string is not trivially copyable, so it cannot travel through
// shared memory by value. run.cmake checks that the build fails with coipc's message.
#include <string>

import coipc;

int main() {
  coipc::route<std::string> tx("never", coipc::role::sender);
  return 0;
}
