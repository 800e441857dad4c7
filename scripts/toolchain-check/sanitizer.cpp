// Built with each preset's -fsanitize flags: proves that the runtimes link and start.
#include <atomic>
#include <thread>
int main() {
  std::atomic<int> n{0};
  std::thread t([&] { n.fetch_add(1); });
  t.join();
  return n.load() == 1 ? 0 : 1;
}
