// The test binaries' main: Catch2's session, or a child process entry point when started
// by coipc_test::spawn().
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "support/processes.hpp"

int main(int argc, char** argv) {
  if (auto status = coipc_test::run_child_if_requested(argc, argv)) return *status;
  return Catch::Session().run(argc, argv);
}
