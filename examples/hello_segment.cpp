// hello_segment: two processes exchange a greeting through a coipc segment.
//
//   hello_segment write NAME TEXT   creates the segment NAME and publishes TEXT in it
//   hello_segment read NAME         waits (up to 5 s) for the greeting and prints it
//
// The writer publishes with a release store of the text's length; the reader parks on
// that word (a futex in shared memory) until it changes, then acquires the text.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <system_error>

import coipc;

namespace {
struct greeting {
  std::atomic<std::uint32_t> length;  // 0 until the text is published
  char text[1020];
};

coipc::segment open(const std::string& name) {
  coipc::segment_geometry g;
  g.body_size = sizeof(greeting);
  return coipc::segment::open(name, coipc::fingerprint_of<greeting>(), g, {}, nullptr);
}
}  // namespace

int main(int argc, char** argv) try {
  if (argc == 4 && std::strcmp(argv[1], "write") == 0) {
    auto seg = open(argv[2]);
    auto* g = reinterpret_cast<greeting*>(seg.body().data());
    std::size_t n = std::min(std::strlen(argv[3]), sizeof g->text);
    std::memcpy(g->text, argv[3], n);
    g->length.store(static_cast<std::uint32_t>(n), std::memory_order_release);  // SYNC POINT: greeting
    coipc::platform::park_wake(g->length, INT32_MAX);
    std::printf("writer %d: published \"%.*s\" on '%s'\n", ::getpid(), static_cast<int>(n), g->text,
                argv[2]);
    return 0;
  }
  if (argc == 3 && std::strcmp(argv[1], "read") == 0) {
    auto seg = open(argv[2]);
    auto* g = reinterpret_cast<greeting*>(seg.body().data());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::uint32_t n;
    while ((n = g->length.load(std::memory_order_acquire)) == 0) {  // SYNC POINT: greeting
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::nanoseconds::zero()) {
        std::fprintf(stderr, "reader: no greeting within 5 s\n");
        return 1;
      }
      coipc::platform::park_wait(g->length, 0, left);
    }
    std::printf("reader %d: received \"%.*s\" (segment created by process %u)\n", ::getpid(), static_cast<int>(n),
                g->text, seg.header().creator_pid);
    return 0;
  }
  std::fprintf(stderr, "usage: hello_segment write NAME TEXT | read NAME\n");
  return 2;
} catch (const std::system_error& e) {
  std::fprintf(stderr, "hello_segment: %s\n", e.what());
  return 1;
}
