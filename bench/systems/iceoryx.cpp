// iceoryx 2.0: zero-copy publish/subscribe through RouDi, its daemon, which the benchmark
// starts for its run (with a memory pool configuration sized for the cases) and stops at
// the end. Native broadcast (and many-to-many). Configured for throughput without loss:
// the largest subscriber queue (256), QueueFullPolicy::BLOCK_PRODUCER and
// ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER, so a full queue blocks the publisher. A sender
// loans a chunk, stamps it in place and publishes it; a receiver checks it in place and
// releases it, the same zero-copy use as coipc's loan/view. When the chunk pool of a size
// runs dry the sender waits (yields) for receivers to release chunks.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "iceoryx_hoofs/log/logmanager.hpp"
#include "iceoryx_posh/mepoo/chunk_header.hpp"
#include "iceoryx_posh/popo/untyped_publisher.hpp"
#include "iceoryx_posh/popo/untyped_subscriber.hpp"
#include "iceoryx_posh/popo/wait_set.hpp"
#include "iceoryx_posh/runtime/posh_runtime.hpp"

#include "../loops.hpp"
#include "../system.hpp"

namespace bench {
namespace {

/// User + system CPU seconds of process `pid` so far (from /proc), or 0.
double cpu_seconds_of(pid_t pid) {
  std::FILE* f = std::fopen(fmt::format("/proc/{}/stat", pid).c_str(), "r");
  if (!f) return 0;
  char buf[1024] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  const char* p = std::strrchr(buf, ')');  // fields count from after "(comm)"
  if (!p || n == 0) return 0;
  unsigned long utime = 0, stime = 0;
  // After ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15)
  if (std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) return 0;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// RouDi's memory pools: (payload bytes, chunks). Enough chunks for 256-deep queues of a
/// few receivers at small sizes; at 1 MiB and up the pool, not the queue, bounds what is
/// in flight (the sender then waits for chunks).
constexpr std::pair<std::uint32_t, std::uint32_t> mempools[] = {
    {128, 4096},      {256, 8192},       {1024, 4096},      {4096, 2048},      {16384, 1024},
    {65536, 600},     {262144, 160},     {1048576, 96},     {4u << 20, 16},
};
constexpr std::uint32_t largest_pool = 4u << 20;

/// Rendezvous counters for the runner's children, in memory they all share.
struct rendezvous {
  std::atomic<std::uint32_t> offered[2];     ///< publishers offering on link l
  std::atomic<std::uint32_t> subscribed[2];  ///< subscribers connected on link l
};

template <class Pred>
void wait_until(Pred&& pred, const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error(fmt::format("iceoryx: {}", what));
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

iox::capro::ServiceDescription service(const std::string& prefix, int link) {
  return {iox::capro::IdString_t(iox::cxx::TruncateToCapacity, "coipc-bench"),
          iox::capro::IdString_t(iox::cxx::TruncateToCapacity, prefix.c_str()),
          iox::capro::IdString_t(iox::cxx::TruncateToCapacity, link ? "b" : "a")};
}

struct iox_tx {
  std::unique_ptr<iox::popo::UntypedPublisher> pub;
  void send(std::uint32_t size, std::uint32_t sender, std::uint64_t seq) {
    for (;;) {
      auto chunk = pub->loan(size);
      if (!chunk.has_error()) {
        coipc_payload::stamp(static_cast<std::byte*>(chunk.value()), size, sender, seq);
        pub->publish(chunk.value());
        return;
      }
      if (chunk.get_error() != iox::popo::AllocationError::RUNNING_OUT_OF_CHUNKS)
        throw std::runtime_error(fmt::format("iceoryx: loan of {} bytes failed ({})", size,
                                             static_cast<int>(chunk.get_error())));
      std::this_thread::yield();  // the pool is dry: receivers still hold every chunk
    }
  }
};

struct iox_rx {
  std::unique_ptr<iox::popo::UntypedSubscriber> sub;
  std::unique_ptr<iox::popo::WaitSet<>> waitset;  // destroyed first: it detaches from sub

  template <class F>
  std::size_t try_recv(F&& on_message) {
    auto chunk = sub->take();
    if (chunk.has_error()) {
      if (chunk.get_error() == iox::popo::ChunkReceiveResult::NO_CHUNK_AVAILABLE) return 0;
      throw std::runtime_error("iceoryx: take failed (too many chunks held)");
    }
    const void* p = chunk.value();
    on_message(static_cast<const std::byte*>(p), iox::mepoo::ChunkHeader::fromUserPayload(p)->userPayloadSize());
    sub->release(p);
    return 1;
  }
  template <class F>
  std::size_t recv(F&& on_message) {
    for (;;) {
      if (std::size_t n = try_recv(on_message)) return n;
      waitset->wait();
    }
  }
};

class iceoryx_system final : public ipc_system {
 public:
  std::string_view name() const override { return "iceoryx"; }

  std::vector<std::string> prepare() override {
    config_ = fmt::format("/tmp/coipc-bench-{}-roudi.toml", getpid());
    log_ = fmt::format("/tmp/coipc-bench-{}-roudi.log", getpid());
    {
      std::ofstream f(config_);
      f << "[general]\nversion = 1\n\n[[segment]]\n";
      for (auto [size, count] : mempools) f << "\n[[segment.mempool]]\nsize = " << size << "\ncount = " << count << "\n";
    }
    std::fflush(nullptr);
    roudi_ = fork();
    if (roudi_ == 0) {
      setpgid(0, 0);  // its own group: not in the way of the cases' process groups
      const int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
      }
      execl(COIPC_IOX_ROUDI, "iox-roudi", "-c", config_.c_str(), "-l", "info", static_cast<char*>(nullptr));
      _exit(127);
    }
    if (roudi_ < 0) {
      reason_ = "cannot fork for RouDi";
      return {reason_};
    }
    // Ready when it says so; gone if it exits (another RouDi running, bad config).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (log_text().find("RouDi is ready for clients") != std::string::npos) break;
      int status;
      if (waitpid(roudi_, &status, WNOHANG) == roudi_ || std::chrono::steady_clock::now() > deadline) {
        kill(roudi_, SIGKILL);
        waitpid(roudi_, &status, 0);
        roudi_ = -1;
        std::string log = log_text();
        while (!log.empty() && log.back() == '\n') log.pop_back();
        reason_ = fmt::format("RouDi ({}) did not start: {}", COIPC_IOX_ROUDI,
                              log.substr(log.rfind('\n') == std::string::npos ? 0 : log.rfind('\n') + 1));
        return {reason_};
      }
    }
    // "Ready" comes before RouDi has settled (its memory pools may still be faulting in):
    // wait until its CPU time stops growing, so that it does not slow the first cases.
    double last = cpu_seconds_of(roudi_);
    for (int quiet = 0, i = 0; quiet < 3 && i < 100; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const double now = cpu_seconds_of(roudi_);
      quiet = now - last < 0.005 ? quiet + 1 : 0;
      last = now;
    }
    return {fmt::format("started RouDi ({}, pid {}) for this run; its CPU time is not in the figures", COIPC_IOX_ROUDI,
                        roudi_)};
  }

  void finish() noexcept override {
    if (roudi_ > 0) {
      kill(roudi_, SIGTERM);
      int status;
      for (int i = 0; i < 500 && waitpid(roudi_, &status, WNOHANG) != roudi_; ++i) usleep(10'000);
      if (kill(roudi_, 0) == 0) {
        kill(roudi_, SIGKILL);
        waitpid(roudi_, &status, 0);
      }
      roudi_ = -1;
    }
    if (!config_.empty()) unlink(config_.c_str());
    if (!log_.empty()) unlink(log_.c_str());
  }

  void setup(const case_spec& spec, const std::string& prefix) override {
    spec_ = spec;
    prefix_ = prefix;
    void* p = mmap(nullptr, sizeof(rendezvous), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap");
    meet_ = new (p) rendezvous{};
  }

  void process_init(const std::string& prefix) override {
    // Quiet: a dry pool is expected (the sender waits), not worth a line per loan.
    iox::log::LogManager::GetLogManager().SetDefaultLogLevel(iox::log::LogLevel::kFatal, iox::log::LogLevelOutput::kHideLogLevel);
    const std::string name = fmt::format("{}-{}", prefix, getpid());
    iox::runtime::PoshRuntime::initRuntime(iox::RuntimeName_t(iox::cxx::TruncateToCapacity, name.c_str()));
  }

  void run(party& p) override {
    const bool pp = spec_.pattern == pattern::pingpong;
    run_roles(
        p,
        [&](int l, std::uint32_t) {
          iox::popo::PublisherOptions o;
          o.historyCapacity = 0;
          o.subscriberTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
          iox_tx tx{std::make_unique<iox::popo::UntypedPublisher>(service(prefix_, l), o)};
          if (!pp) {
            meet_->offered[l].fetch_add(1);
            wait_until([&] { return meet_->subscribed[l].load() >= link_receivers(spec_, l); },
                       "receivers did not subscribe within 30 s");
          }
          wait_until([&] { return tx.pub->hasSubscribers(); }, "no subscriber within 30 s");
          return tx;
        },
        [&](int l, std::uint32_t) {
          // With several publishers, subscribe once all offer: RouDi then connects the
          // new subscriber to all of them at once, so SUBSCRIBED means every sender.
          if (!pp)
            wait_until([&] { return meet_->offered[l].load() >= link_senders(spec_, l); },
                       "senders did not offer within 30 s");
          iox::popo::SubscriberOptions o;
          o.queueCapacity = iox::popo::SubscriberChunkQueueData_t::MAX_CAPACITY;
          o.historyRequest = 0;
          o.queueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
          iox_rx rx{std::make_unique<iox::popo::UntypedSubscriber>(service(prefix_, l), o),
                    std::make_unique<iox::popo::WaitSet<>>()};
          if (rx.waitset->attachState(*rx.sub, iox::popo::SubscriberState::HAS_DATA).has_error())
            throw std::runtime_error("iceoryx: cannot attach the subscriber to a wait set");
          if (!pp) {
            wait_until([&] { return rx.sub->getSubscriptionState() == iox::SubscribeState::SUBSCRIBED; },
                       "not subscribed within 30 s");
            meet_->subscribed[l].fetch_add(1);
          }
          return rx;
        });
  }

  void cleanup(const case_spec&, const std::string&) noexcept override {
    // RouDi reclaims the ports of processes that left; nothing is named on disk.
  }

 private:
  bool native_broadcast() const override { return true; }  // publish/subscribe
  support check_case(const case_spec& spec) const override {
    if (!reason_.empty()) return {false, reason_};
    if (roudi_ <= 0) return {false, "RouDi not started"};
    if (spec.api == api_kind::coroutine) return {false, "no coroutine API"};
    if (spec.size_max > largest_pool) return {false, fmt::format("message over the largest pool ({})", format_size(largest_pool))};
    return {true, "zero-copy (loan/take)"};
  }

  std::string log_text() const {
    std::ifstream f(log_);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  pid_t roudi_ = -1;
  std::string config_, log_, reason_;
  case_spec spec_;
  std::string prefix_;
  rendezvous* meet_ = nullptr;
};

}  // namespace

std::unique_ptr<ipc_system> make_iceoryx() { return std::make_unique<iceoryx_system>(); }

}  // namespace bench
